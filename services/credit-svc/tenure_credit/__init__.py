"""credit-svc: Credit notes, balances, refunds and credit previews (ledger arrives with the credits issue)."""
