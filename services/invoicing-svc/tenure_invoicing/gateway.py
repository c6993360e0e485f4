"""Payment gateways. `PaymentGateway` is what a real gateway (Stripe, Adyen, …) implements; the
sandbox is part of the product, like a gateway's test mode:

- `pm_test_ok` always succeeds
- `pm_test_declined` always fails (card_declined)
- `pm_test_fail_first_N` fails its first N attempts for a customer, then succeeds
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing.models import SandboxCharge, SandboxRefund

FAIL_FIRST = re.compile(r"^pm_test_fail_first_(\d+)$")


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    failure_code: str | None = None


class PaymentGateway(Protocol):
    async def charge(
        self, *, idempotency_key: str, customer_id: str, payment_method: str, amount: int, currency: str
    ) -> ChargeResult:
        """Charge once per idempotency key; a repeat returns the first result."""
        ...

    async def refund(
        self, *, idempotency_key: str, customer_id: str, payment_method: str | None, amount: int, currency: str
    ) -> ChargeResult:
        """Pay money back to the customer once per idempotency key; a repeat returns the first result."""
        ...


class SandboxGateway:
    """Deterministic test payment methods, with their charge history in invoicing's database."""

    def __init__(self, session: AsyncSession):
        self._session = session

    async def charge(
        self, *, idempotency_key: str, customer_id: str, payment_method: str, amount: int, currency: str
    ) -> ChargeResult:
        earlier = await self._session.get(SandboxCharge, idempotency_key)
        if earlier is not None:
            return ChargeResult(earlier.succeeded, earlier.failure_code)
        result = await self._decide(customer_id, payment_method)
        self._session.add(
            SandboxCharge(
                idempotency_key=idempotency_key,
                customer_id=customer_id,
                payment_method=payment_method,
                amount=amount,
                currency=currency,
                succeeded=result.succeeded,
                failure_code=result.failure_code,
            )
        )
        await self._session.flush()
        return result

    async def refund(
        self, *, idempotency_key: str, customer_id: str, payment_method: str | None, amount: int, currency: str
    ) -> ChargeResult:
        """Refunds go back to any sandbox payment method (a card that declines charges still takes
        refunds); without a payment method there is nowhere to send the money."""
        earlier = await self._session.get(SandboxRefund, idempotency_key)
        if earlier is not None:
            return ChargeResult(earlier.succeeded, earlier.failure_code)
        if not payment_method:
            result = ChargeResult(False, "no_payment_method")
        elif payment_method.startswith("pm_test_"):
            result = ChargeResult(True)
        else:
            result = ChargeResult(False, "invalid_payment_method")
        self._session.add(
            SandboxRefund(
                idempotency_key=idempotency_key,
                customer_id=customer_id,
                payment_method=payment_method,
                amount=amount,
                currency=currency,
                succeeded=result.succeeded,
                failure_code=result.failure_code,
            )
        )
        await self._session.flush()
        return result

    async def _decide(self, customer_id: str, payment_method: str) -> ChargeResult:
        if payment_method == "pm_test_ok":
            return ChargeResult(True)
        if payment_method == "pm_test_declined":
            return ChargeResult(False, "card_declined")
        match = FAIL_FIRST.match(payment_method)
        if match:
            earlier_attempts = await self._session.scalar(
                select(func.count()).where(
                    SandboxCharge.customer_id == customer_id, SandboxCharge.payment_method == payment_method
                )
            )
            return ChargeResult(True) if earlier_attempts >= int(match.group(1)) else ChargeResult(False, "card_declined")
        return ChargeResult(False, "invalid_payment_method")


def gateway_for(session: AsyncSession) -> PaymentGateway:
    """The gateway in use. Only the sandbox exists today; a real one plugs in here."""
    return SandboxGateway(session)
