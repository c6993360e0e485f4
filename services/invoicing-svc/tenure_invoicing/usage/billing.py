"""Usage billed in arrears: what a subscription's usage since it was last billed comes to, per
metric and per stretch of one price, and what late usage adds to windows billed before.

Invoicing keeps, from subscription events, each subscription's plan intervals (with their metered
charges) and the instant up to which its usage is billed (`billed_until`). When a subscription
event starts a new period, the usage of [billed_until, new period start) goes on that event's
invoice, one line per metric (per plan, if the plan changed within the window). Each billed window
is remembered with its totals; if late events change a window's aggregate, the next invoice carries
a separate line for the difference, naming the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing.models import Invoice
from tenure_invoicing.pricing import MeteredPrice, Tier, UsageCharge, price_usage
from tenure_invoicing.usage import periods, repository
from tenure_invoicing.usage.models import UsageBilling, UsageMetric, UsagePlanInterval, UsageSubscription
from tenure_shared.events import ChargeLine, SubscriptionData
from tenure_shared.money import format_amount, round_half_up

# Late usage is looked for in windows that ended at most this long before the invoice.
LATE_USAGE_LOOKBACK = timedelta(days=366)


def price_of(charge: dict[str, Any]) -> MeteredPrice:
    """The pricing model of a metered charge as subscription events carry it."""
    return MeteredPrice(
        model=charge.get("model", "per_unit"),
        unit_amount=charge.get("unit_amount", 0),
        included_units=Fraction(charge.get("included_units", 0)),
        tiers=tuple(
            Tier(
                up_to=None if t.get("up_to") is None else Fraction(t["up_to"]),
                unit_amount=t.get("unit_amount", 0),
                flat_amount=t.get("flat_amount", 0),
            )
            for t in charge.get("tiers") or ()
        ),
        package_size=charge.get("package_size", 1),
    )


def decimal_text(value: Decimal | Fraction | int) -> str:
    """An exact quantity as plain decimal text ('12.5', '3'); a non-terminating fraction as 'n/d'."""
    if isinstance(value, Fraction):
        denominator = value.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        if denominator != 1:
            return f"{value.numerator}/{value.denominator}"
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


@dataclass
class UsageItem:
    """One metric's usage over one window at one price: a regular line, or late usage's difference."""

    metric_code: str
    metric_name: str
    aggregation: str
    window_start: datetime
    window_end: datetime
    charge: dict[str, Any]
    late: bool
    quantity: Decimal  # what this line bills (for late usage: the change in the window's aggregate)
    amount: int
    total_quantity: Decimal  # the window's aggregate after this billing
    total_amount: int
    priced: UsageCharge  # the pricing of total_quantity

    @property
    def unit_amount(self) -> int:
        if self.charge.get("model") in ("tiered", "volume"):
            return self.priced.tiers[-1].unit_amount if self.priced.tiers else 0
        return self.charge.get("unit_amount", 0)

    def shows_on_invoice(self) -> bool:
        return bool(self.quantity or self.amount)

    def description(self, currency: str) -> str:
        model = self.charge.get("model", "per_unit")
        quantity = decimal_text(self.total_quantity if self.late else self.quantity)
        if model == "per_unit":
            what = f"{quantity} × {format_amount(self.charge.get('unit_amount', 0), currency)}"
        elif model == "package":
            what = (
                f"{quantity} in packages of {self.charge.get('package_size', 1)} × "
                f"{format_amount(self.charge.get('unit_amount', 0), currency)}"
            )
        else:
            bands = "; ".join(
                f"{decimal_text(t.quantity)} × {format_amount(t.unit_amount, currency)}"
                + (f" + {format_amount(t.flat_amount, currency)}" if t.flat_amount else "")
                for t in self.priced.tiers
            )
            what = f"{quantity}, {'graduated' if model == 'tiered' else 'volume'} tiers: {bands or 'none reached'}"
        if self.charge.get("included_units"):
            what += f" ({self.charge['included_units']} included)"
        if self.late:
            return (
                f"Late usage, {self.metric_name} for {_day(self.window_start)} – {_day(self.window_end)}: "
                f"+{decimal_text(self.quantity)}, now {what}"
            )
        return f"{self.metric_name}: {what}"

    def line(self, currency: str) -> ChargeLine:
        return ChargeLine(
            kind="usage",
            description=self.description(currency),
            quantity=round_half_up(Fraction(self.quantity)),
            unit_amount=self.unit_amount,
            amount=self.amount,
            period_start=self.window_start,
            period_end=self.window_end,
        )

    def details(self) -> dict[str, Any]:
        return {
            "metric_code": self.metric_code,
            "aggregation": self.aggregation,
            "model": self.charge.get("model", "per_unit"),
            "late": self.late,
            "quantity": decimal_text(self.quantity),
            "total_quantity": decimal_text(self.total_quantity),
            "billable_quantity": decimal_text(self.priced.billable_quantity),
            "included_units": self.charge.get("included_units", 0),
            "unit_amount": self.charge.get("unit_amount", 0),
            "package_size": self.charge.get("package_size", 1),
            "total_amount": self.total_amount,
            "tiers": [
                {
                    "from_units": decimal_text(t.from_units),
                    "to_units": None if t.to_units is None else decimal_text(t.to_units),
                    "quantity": decimal_text(t.quantity),
                    "unit_amount": t.unit_amount,
                    "flat_amount": t.flat_amount,
                    "amount": decimal_text(t.amount),
                }
                for t in self.priced.tiers
            ],
        }


@dataclass
class UsageBill:
    """The usage an invoice is about to carry, and the subscription state it moves forward."""

    state: UsageSubscription | None
    currency: str
    items: list[UsageItem] = field(default_factory=list)

    @property
    def shown(self) -> list[UsageItem]:
        return [item for item in self.items if item.shows_on_invoice()]

    @property
    def lines(self) -> list[ChargeLine]:
        return [item.line(self.currency) for item in self.shown]

    def after(self, lines: list[ChargeLine]) -> list[ChargeLine]:
        """The invoice's lines: the event's own, then the usage (a negative late difference only
        where the invoice stays non-negative)."""
        if sum(line.amount for line in [*lines, *self.lines]) < 0:
            self.drop_negative_late_lines()
        return [*lines, *self.lines]

    def drop_negative_late_lines(self) -> None:
        """A late difference can be negative (volume prices are not monotonic); it waits for an
        invoice that can absorb it rather than make one negative."""
        self.items = [item for item in self.items if not (item.late and item.amount < 0)]


async def track_subscription(
    session: AsyncSession, *, subscription: SubscriptionData, at: datetime, clock_id: str | None
) -> UsageSubscription:
    """Keep the subscription's state and plan intervals from one of its events (in event order)."""
    state = await repository.get_state(session, subscription.id, for_update=True)
    if state is None:
        started = min(at, subscription.current_period_start or at)
        state = UsageSubscription(
            id=subscription.id, customer_id=subscription.customer_id, started_at=started, billed_until=started, ever_metered=False
        )
        session.add(state)
    state.clock_id = clock_id
    state.status = subscription.status
    state.plan_code = subscription.plan_code
    state.currency = subscription.currency
    state.current_period_start = subscription.current_period_start
    state.current_period_end = subscription.current_period_end
    charges = [charge.model_dump(mode="json") for charge in subscription.metered_charges]
    state.ever_metered = state.ever_metered or bool(charges)
    current = await repository.open_interval(session, subscription.id)
    now_in_force = (subscription.status, subscription.plan_code, charges)
    if current is not None and (current.status, current.plan_code, current.charges) == now_in_force:
        return state
    since = state.started_at if current is None else max(at, current.valid_from)
    if current is not None and current.valid_from == since:
        # Two events at one instant (created, then activated): the later one's view holds.
        current.status, current.plan_code, current.charges = subscription.status, subscription.plan_code, charges
    else:
        if current is not None:
            current.valid_to = since
        session.add(
            UsagePlanInterval(
                subscription_id=subscription.id,
                customer_id=subscription.customer_id,
                valid_from=since,
                valid_to=None,
                status=subscription.status,
                plan_code=subscription.plan_code,
                charges=charges,
            )
        )
    await session.flush()
    return state


async def _aggregate(
    session: AsyncSession, state: UsageSubscription, charge: dict[str, Any], start: datetime, end: datetime
) -> Decimal:
    earlier = await repository.intervals_of_earlier_subscriptions(session, state, start, end)
    return await repository.aggregate(
        session,
        customer_id=state.customer_id,
        subscription_id=state.id,
        metric_code=charge["metric_code"],
        aggregation=charge.get("aggregation", "sum"),
        prop=charge.get("property"),
        start=start,
        end=end,
        foreign=periods.foreign_ranges(earlier, charge["metric_code"], start, end),
    )


async def usage_until(
    session: AsyncSession, *, state: UsageSubscription, end: datetime, at: datetime, with_late: bool
) -> list[UsageItem]:
    """Unbilled usage of [billed_until, end), and (with_late) the late usage of windows billed before."""
    items: list[UsageItem] = []
    start = state.billed_until
    names: dict[str, UsageMetric] = {}
    if end > start:
        own = await repository.intervals(session, state.id, start, end)
        for metric_code in periods.metrics_charged(own):
            for segment in periods.pricing_segments(own, metric_code, start, end):
                quantity = await _aggregate(session, state, segment.charge, segment.start, segment.end)
                priced = price_usage(Fraction(quantity), price_of(segment.charge))
                items.append(
                    UsageItem(
                        metric_code=metric_code,
                        metric_name=segment.charge.get("metric_name") or metric_code,
                        aggregation=segment.charge.get("aggregation", "sum"),
                        window_start=segment.start,
                        window_end=segment.end,
                        charge=segment.charge,
                        late=False,
                        quantity=quantity,
                        amount=priced.amount,
                        total_quantity=quantity,
                        total_amount=priced.amount,
                        priced=priced,
                    )
                )
    if with_late:
        for billed in await repository.billed_windows(session, state.id, ending_after=at - LATE_USAGE_LOOKBACK):
            quantity = await _aggregate(session, state, billed.charge, billed.window_start, billed.window_end)
            if quantity == billed.total_quantity:
                continue
            priced = price_usage(Fraction(quantity), price_of(billed.charge))
            items.append(
                UsageItem(
                    metric_code=billed.metric_code,
                    metric_name=billed.charge.get("metric_name") or billed.metric_code,
                    aggregation=billed.charge.get("aggregation", "sum"),
                    window_start=billed.window_start,
                    window_end=billed.window_end,
                    charge=billed.charge,
                    late=True,
                    quantity=quantity - billed.total_quantity,
                    amount=priced.amount - billed.total_amount,
                    total_quantity=quantity,
                    total_amount=priced.amount,
                    priced=priced,
                )
            )
    for item in items:
        if item.metric_name == item.metric_code:
            names = names or await repository.metric_names(session, [i.metric_code for i in items])
            if item.metric_code in names:
                item.metric_name = names[item.metric_code].name
    return items


async def bill_usage(session: AsyncSession, *, subscription: SubscriptionData, at: datetime, clock_id: str | None) -> UsageBill:
    """Track a subscription event; when it starts a new period (or ends the subscription), the usage
    up to then is due: return it, moving `billed_until` forward."""
    state = await track_subscription(session, subscription=subscription, at=at, clock_id=clock_id)
    ended = subscription.status in periods.NOT_OWNING
    end = at if ended else (subscription.current_period_start or at)
    if end <= state.billed_until:
        return UsageBill(state=state, currency=subscription.currency)
    # A plan that never had metered charges (the flat renewal) has nothing to bill: no window, no late usage.
    items = await usage_until(session, state=state, end=end, at=at, with_late=True) if state.ever_metered else []
    state.billed_until = end
    return UsageBill(state=state, currency=subscription.currency, items=items)


async def record_billed(
    session: AsyncSession, bill: UsageBill, *, invoice: Invoice | None, source_event_id: str, at: datetime
) -> None:
    """Remember what was billed for each window (zero included) and show the exact figures on the invoice."""
    if bill.state is None:
        return
    for item in bill.items:
        session.add(
            UsageBilling(
                subscription_id=bill.state.id,
                metric_code=item.metric_code,
                window_start=item.window_start,
                window_end=item.window_end,
                charge=item.charge,
                late=item.late,
                quantity=item.quantity,
                amount=item.amount,
                total_quantity=item.total_quantity,
                total_amount=item.total_amount,
                invoice_id=invoice.id if invoice else None,
                source_event_id=source_event_id,
                billed_at=at,
            )
        )
    if invoice is not None:
        usage_lines = [line for line in invoice.lines if line.kind == "usage"]
        shown = bill.shown
        if len(usage_lines) == len(shown):
            for line, item in zip(usage_lines, shown, strict=True):
                line.quantity_decimal = decimal_text(item.quantity)
                line.details = item.details()
    await session.flush()
