"""invoicing-svc: invoices, payments (sandbox gateway), one-time charges, usage."""
