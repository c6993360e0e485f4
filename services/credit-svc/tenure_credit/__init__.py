"""credit-svc: the credit ledger: credit notes, balances, application to invoices, refunds, credit previews."""
