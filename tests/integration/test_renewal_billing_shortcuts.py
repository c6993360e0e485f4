"""What invoicing leaves out of a renewal that has nothing of it, on real PostgreSQL: the usage queries
for a subscription that never had a metered charge, and the call to credit-svc for a customer whose
credit notes (as credit-svc's events told) have nothing left in the invoice's currency. Both still
happen when there is something: the last metered period of a plan changed to a flat one, a credit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, text

from tenure_invoicing import service
from tenure_invoicing.handlers import on_credit_note_changed
from tenure_shared.events import ChargeLine, CloudEvent, CreditNoteData, MeteredChargeData, SubscriptionData
from tenure_shared.ids import new_id

MARCH, APRIL, MAY = (datetime(2026, m, 1, tzinfo=UTC) for m in (3, 4, 5))
METERED = MeteredChargeData(metric_code="api_calls", unit_amount=10)


class CreditPeer:
    """Stands in for credit-svc's HTTP API: records what billing asks, spends `credit` at most."""

    def __init__(self, credit: int = 0):
        self.credit = credit
        self.asked: list[dict] = []

    async def request(self, service_name: str, method: str, path: str, json: dict) -> dict:
        assert (service_name, method, path) == ("credit", "POST", "/internal/credits/apply")
        self.asked.append(json)
        spent = min(self.credit, json["amount"])
        self.credit -= spent
        return {"applications": [{"credit_note_id": "cn_1", "amount": spent}] if spent else []}


def _subscription(customer: str, start: datetime, end: datetime, charges: list[MeteredChargeData]) -> SubscriptionData:
    return SubscriptionData(
        id=f"sub_{customer}",
        customer_id=customer,
        status="active",
        plan_code="metered" if charges else "flat",
        plan_amount=1000,
        recurring_amount_after_discounts=1000,
        currency="USD",
        quantity=1,
        current_period_start=start,
        current_period_end=end,
        bill_lines=[
            ChargeLine(kind="subscription", description="plan", unit_amount=1000, amount=1000, period_start=start, period_end=end)
        ],
        billing_reason="subscription_cycle",
        metered_charges=charges,
    )


async def _bill(sessions, subscription: SubscriptionData, at: datetime, peer: CreditPeer, statements: list[str]):
    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with sessions() as session, session.begin():
            return await service.bill_event(
                session,
                event_id=new_id("evt"),
                subscription=subscription,
                own_lines=subscription.bill_lines,
                billing_reason="subscription_cycle",
                at=at,
                clock_id=None,
                internal=peer,  # type: ignore[arg-type]
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _credit_note_event(sessions, customer: str, remaining: int) -> None:
    note = CreditNoteData(
        id="cn_1",
        number="CN-000001",
        customer_id=customer,
        subscription_id=None,
        reason="manual",
        currency="USD",
        amount=500,
        remaining=remaining,
        status="open" if remaining else "applied",
        issued_at=MARCH,
    )
    envelope = CloudEvent(
        id=new_id("evt"),
        type="credit_note.issued",
        source="credit",
        subject=customer,
        time=MARCH,
        data=note.model_dump(mode="json"),
    )
    async with sessions() as session, session.begin():
        await on_credit_note_changed(session, envelope)


def _usage_queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "usage_billings" in s or ("usage_plan_intervals" in s and "valid_from <" in s)]


async def test_flat_renewal_without_credit_asks_nothing_and_skips_usage(invoicing_db):
    _, sessions = invoicing_db
    peer, statements = CreditPeer(), []
    await _bill(sessions, _subscription("flat", MARCH, APRIL, []), MARCH, peer, [])
    renewal = await _bill(sessions, _subscription("flat", APRIL, MAY, []), APRIL, peer, statements)

    assert renewal is not None and (renewal.total, renewal.credits_applied) == (1000, [])
    assert peer.asked == []
    assert _usage_queries(statements) == []


async def test_credit_known_from_its_event_is_spent_then_no_more_asked(invoicing_db):
    _, sessions = invoicing_db
    peer = CreditPeer(credit=500)
    await _credit_note_event(sessions, "credited", remaining=500)
    first = await _bill(sessions, _subscription("credited", MARCH, APRIL, []), MARCH, peer, [])
    assert [a["amount"] for a in peer.asked] == [1000]
    assert (first.total, first.amount_due) == (1000, 500)

    await _credit_note_event(sessions, "credited", remaining=0)  # credit_note.applied: nothing left
    await _bill(sessions, _subscription("credited", APRIL, MAY, []), APRIL, peer, [])
    assert len(peer.asked) == 1


async def test_last_metered_period_is_billed_on_the_renewal_to_a_flat_plan(invoicing_db):
    _, sessions = invoicing_db
    await _bill(sessions, _subscription("moving", MARCH, APRIL, [METERED]), MARCH, CreditPeer(), [])
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO usage_events (id, customer_id, subscription_id, metric_code, occurred_at, value)"
                " VALUES ('use_1', 'moving', 'sub_moving', 'api_calls', :at, 7)"
            ),
            {"at": datetime(2026, 3, 15, tzinfo=UTC)},
        )
    # The renewal's event names the new plan, which has no metered charge; March's usage is still owed.
    renewal = await _bill(sessions, _subscription("moving", APRIL, MAY, []), APRIL, CreditPeer(), [])
    assert [(line.kind, line.amount) for line in renewal.lines] == [("subscription", 1000), ("usage", 70)]
