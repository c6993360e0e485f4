"""The retention report and the MRR series, computed in the database, against the reference: the pure
`retention.figures` over each subscription's history, on a generated population with what the query has
to get right (several subscriptions a customer, states at the same instant, pauses, fractional MRR of
yearly and weekly plans, voided renewals, another currency, windows that cut periods)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import insert

from tenure_health import reports, retention
from tenure_health.models import MrrInvoice, MrrState
from tenure_shared.events import InvoiceData
from tenure_shared.ids import new_id
from tenure_shared.money import round_half_up

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
# Monthly MRR of plans billed by the month, the year (÷ 12) and the week (× 52 ÷ 12), and none.
MRRS = (Fraction(0), Fraction(5000), Fraction(12000), Fraction(100000, 12), Fraction(2500 * 52, 12), Fraction(27000, 3))
VERBS = ("changed", "paused", "resumed", "moved_to_free_plan", "cancelled", "reactivated")
WINDOWS = [
    (ORIGIN + timedelta(days=31), ORIGIN + timedelta(days=59)),
    (ORIGIN + timedelta(days=10), ORIGIN + timedelta(days=130)),
    (ORIGIN + timedelta(days=45, hours=6), ORIGIN + timedelta(days=75)),
    (ORIGIN - timedelta(days=30), ORIGIN + timedelta(days=200)),
]


def population(clock: str, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """States (in each subscription's order) and invoices of about 120 customers."""
    states, invoices = [], []
    for c in range(120):
        currency = "EUR" if c % 15 == 0 else "USD"
        for s in range(rng.choice((1, 1, 2, 3))):
            at = ORIGIN + timedelta(days=rng.randrange(-20, 90))
            for n in range(rng.randrange(1, 9)):
                mrr = rng.choice(MRRS)
                paused = mrr == 0 and rng.random() < 0.4
                verb = "created" if n == 0 else "renewed" if rng.random() < 0.6 else rng.choice(VERBS)
                period_end = at + timedelta(days=30)
                event_id = f"evt_{clock}_{c}_{s}_{n}"
                states.append(
                    {
                        "event_id": event_id,
                        "subscription_id": f"sub_{clock}_{c}_{s}",
                        "customer_id": f"cus_{clock}_{c}",
                        "clock_id": clock,
                        "currency": currency,
                        "at": at,
                        "verb": verb,
                        "status": "paused" if paused else "active" if mrr else "cancelled",
                        "paused": paused,
                        "on_free_plan": verb == "moved_to_free_plan",
                        "plan_code": "p",
                        "interval": "month",
                        "interval_count": 1,
                        "period_amount": round_half_up(mrr),
                        "mrr_numerator": mrr.numerator,
                        "mrr_denominator": mrr.denominator,
                        "current_period_end": period_end if rng.random() < 0.9 else None,
                        "billing_reason": "subscription_create" if n == 0 else rng.choice(("subscription_cycle", None)),
                        "cancellation_scheduled": False,
                    }
                )
                if rng.random() < 0.7:
                    invoices.append(
                        {
                            "id": f"in_{event_id}",
                            "customer_id": f"cus_{clock}_{c}",
                            "clock_id": clock,
                            "currency": currency,
                            "subscription_id": f"sub_{clock}_{c}_{s}",
                            "source_event_id": event_id,
                            "total": rng.randrange(100, 40000),
                            "status": rng.choice(("paid", "paid", "void", "open")),
                            "issued_at": at,
                        }
                    )
                # The next state: at the renewal date mostly, sometimes at the same instant, or in between.
                at = rng.choice((period_end, period_end, at, at + timedelta(days=rng.randrange(1, 30), hours=3)))
    return states, invoices


def reference(states: list[dict], invoices: list[dict], start: datetime, end: datetime, currency: str) -> dict:
    """The report as the pure reference computes it from the rows (the report's rules, in Python)."""
    known = [s for s in states if s["at"] <= end]
    mine = [s for s in known if s["currency"] == currency]
    histories: dict[str, retention.History] = {}
    for s in sorted(mine, key=lambda s: s["at"]):  # stable: states at one instant stay in their order
        history = histories.setdefault(s["subscription_id"], retention.History(s["subscription_id"], s["customer_id"]))
        mrr = Fraction(s["mrr_numerator"], s["mrr_denominator"])
        history.states.append(retention.State(at=s["at"], mrr=mrr, paused=s["paused"], period_end=s["current_period_end"]))
    voided = {i["source_event_id"] for i in invoices if i["currency"] == currency and i["status"] == "void"}
    for s in mine:
        if s["verb"] == "renewed" and s["event_id"] not in voided:
            histories[s["subscription_id"]].renewed_at.add(s["at"])
    reasons = {s["event_id"]: s["billing_reason"] for s in known}
    deals = [
        i["total"]
        for i in invoices
        if i["currency"] == currency
        and i["status"] == "paid"
        and start <= i["issued_at"] < end
        and reasons.get(i["source_event_id"]) in retention.DEAL_REASONS
    ]
    moves = sum(1 for s in mine if s["verb"] == "moved_to_free_plan" and start <= s["at"] < end)
    result = retention.figures(histories.values(), start=start, end=end, deals=deals, free_plan_moves=moves)
    series = [round_half_up(sum((h.mrr_at(at) for h in histories.values()), Fraction(0))) for at in _points(start, end)]
    return {"report": retention.rounded_report(result, currency=currency, start=start, end=end), "series": series}


def _points(start: datetime, end: datetime) -> list[datetime]:
    points = [start + timedelta(weeks=n) for n in range((end - start).days // 7 + 1) if start + timedelta(weeks=n) < end]
    return [*points, end]


async def test_the_report_and_the_series_agree_with_the_reference(mechanism_db):
    """Loaded at once, then linked for the whole clock (as the benchmark's seed does)."""
    _, sessions = mechanism_db
    clock = new_id("clock")
    states, invoices = population(clock, random.Random(7))
    async with sessions() as session, session.begin():
        await session.execute(insert(MrrState), states)
        await session.execute(insert(MrrInvoice), invoices)
        await reports.link_states(session, "clock_id", clock)
        await reports.link_deals(session, "clock_id", clock)
    await _check(sessions, clock, states, invoices)


async def test_the_facts_kept_as_states_and_invoices_arrive_in_any_order_agree_too(mechanism_db):
    """States arrive out of business-time order (a state with an earlier instant, or at the same instant as
    others, after them: (at, arrival) orders them), each linked as record_subscription_state links it; invoices
    arrive before or after their state, through record_invoice, and a voided one is first open or paid, so most
    are voided after their renewal arrived."""
    _, sessions = mechanism_db
    clock = new_id("clock")
    states, invoices = population(clock, random.Random(8))
    rng = random.Random(9)
    arrivals = [("state", s) for s in states] + [("invoice", i) for i in invoices]
    rng.shuffle(arrivals)
    for invoice in (i for i in invoices if i["status"] == "void"):  # voided some time after its first event
        first = arrivals.index(("invoice", invoice))
        arrivals.insert(rng.randrange(first + 1, len(arrivals) + 1), ("void", invoice))
    arrived = []
    async with sessions() as session, session.begin():
        for kind, row in arrivals:
            if kind == "state":
                state = MrrState(**row)
                session.add(state)
                await session.flush()
                await reports.state_added(session, state)
                arrived.append(row)
            else:
                status = "void" if kind == "void" else "paid" if row["status"] == "void" else row["status"]
                await reports.record_invoice(session, data=_invoice_data(row, status), clock_id=clock, at=row["issued_at"])
    await _check(sessions, clock, arrived, invoices)


def _invoice_data(row: dict, status: str) -> InvoiceData:
    return InvoiceData(
        id=row["id"],
        number=row["id"],
        customer_id=row["customer_id"],
        subscription_id=row["subscription_id"],
        status=status,
        currency=row["currency"],
        total=row["total"],
        amount_due=row["total"],
        amount_paid=row["total"] if status == "paid" else 0,
        source_event_id=row["source_event_id"],
    )


async def _check(sessions, clock: str, states: list[dict], invoices: list[dict]) -> None:
    """`states` in the order they arrived: the order of states at one instant."""
    checked = dict.fromkeys(retention.MOVEMENTS, 0)
    async with sessions() as session:
        for start, end in WINDOWS:
            expected = reference(states, invoices, start, end, "USD")
            report = await reports.retention_report(session, start=start, end=end, currency="usd", clock_id=clock)
            assert report == expected["report"], (start, end)
            series = await reports.mrr_series(session, start=start, end=end, interval="week", currency="USD", clock_id=clock)
            assert [point["mrr"] for point in series["data"]] == expected["series"], (start, end)
            checked = {name: n + report["customers"][name] for name, n in checked.items()}
    assert all(checked.values()), checked  # every kind of movement was compared somewhere
