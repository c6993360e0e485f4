"""invoicing-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import Conflict, InvalidRequest, NotFound


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"


class InvoiceNotVoidable(Conflict):
    code = "invoice_not_voidable"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"
