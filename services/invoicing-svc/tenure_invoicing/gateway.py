"""Payment gateways. `PaymentGateway` is what a real gateway (Stripe, Adyen, …) implements; the
sandbox is part of the product, like a gateway's test mode:

- `pm_test_ok` always succeeds
- `pm_test_declined` always fails (card_declined)
- `pm_test_fail_first_N` fails its first N attempts for a customer, then succeeds
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing.models import SandboxCharge, SandboxRefund

# The sandbox's two ledgers, keyed by idempotency key, with the outcome recorded under it.
GatewayRecord = TypeVar("GatewayRecord", SandboxCharge, SandboxRefund)

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
        async def decide() -> ChargeResult:
            return await self._decide(customer_id, payment_method)

        return await self._once(
            SandboxCharge,
            idempotency_key,
            decide,
            customer_id=customer_id,
            payment_method=payment_method,
            amount=amount,
            currency=currency,
        )

    async def refund(
        self, *, idempotency_key: str, customer_id: str, payment_method: str | None, amount: int, currency: str
    ) -> ChargeResult:
        """Refunds go back to any sandbox payment method (a card that declines charges still takes
        refunds); without a payment method there is nowhere to send the money."""

        async def decide() -> ChargeResult:
            if not payment_method:
                return ChargeResult(False, "no_payment_method")
            if payment_method.startswith("pm_test_"):
                return ChargeResult(True)
            return ChargeResult(False, "invalid_payment_method")

        return await self._once(
            SandboxRefund,
            idempotency_key,
            decide,
            customer_id=customer_id,
            payment_method=payment_method,
            amount=amount,
            currency=currency,
        )

    async def _once(
        self,
        record_type: type[GatewayRecord],
        idempotency_key: str,
        decide: Callable[[], Awaitable[ChargeResult]],
        **fields: Any,
    ) -> ChargeResult:
        """The outcome recorded for this key, or a new decision recorded under it."""
        earlier = await self._session.get(record_type, idempotency_key)
        if earlier is not None:
            return ChargeResult(earlier.succeeded, earlier.failure_code)
        result = await decide()
        recorded = await self._session.scalar(
            insert(record_type)
            .values(idempotency_key=idempotency_key, succeeded=result.succeeded, failure_code=result.failure_code, **fields)
            .on_conflict_do_nothing(index_elements=[record_type.idempotency_key])
            .returning(record_type.idempotency_key)
        )
        if recorded is None:  # a concurrent twin with this key got there first: its outcome stands
            earlier = await self._session.scalar(select(record_type).where(record_type.idempotency_key == idempotency_key))
            assert earlier is not None  # the insert stopped at this key's committed row
            return ChargeResult(earlier.succeeded, earlier.failure_code)
        return result

    async def _decide(self, customer_id: str, payment_method: str) -> ChargeResult:
        if payment_method == "pm_test_ok":
            return ChargeResult(True)
        if payment_method == "pm_test_declined":
            return ChargeResult(False, "card_declined")
        match = FAIL_FIRST.match(payment_method)
        if match:
            earlier_attempts = (
                await self._session.execute(
                    select(func.count()).where(
                        SandboxCharge.customer_id == customer_id, SandboxCharge.payment_method == payment_method
                    )
                )
            ).scalar_one()
            return ChargeResult(True) if earlier_attempts >= int(match.group(1)) else ChargeResult(False, "card_declined")
        return ChargeResult(False, "invalid_payment_method")


def gateway_for(session: AsyncSession) -> PaymentGateway:
    """The gateway in use. Only the sandbox exists today; a real one plugs in here."""
    return SandboxGateway(session)
