"""The event registry: every published type has one payload model, and nothing else is queued."""

from __future__ import annotations

import pytest

from tenure_shared.events import (
    EVENT_PAYLOADS,
    HEALTH_EVENT_TYPES,
    INTERNAL_EVENT_TYPES,
    PUBLIC_EVENT_PAYLOADS,
    QUOTE_EVENT_TYPES,
    UNREADABLE_EVENT_TYPE,
    CustomerData,
    DeadLetterData,
    InvoiceData,
    MetricData,
    UnreadableRecordData,
    UnregisteredEvent,
    check_payload,
)

CUSTOMER = CustomerData(id="cus_1", email="a@example.com", name="A", currency="USD")


def test_a_registered_type_with_its_model_is_accepted():
    check_payload("tenure.subscriptions", "customer.created", CUSTOMER)
    check_payload("tenure.subscriptions", "metric.created", MetricData(code="calls", name="Calls", aggregation="sum"))


def test_an_unknown_type_is_refused():
    with pytest.raises(UnregisteredEvent, match="thing.happened is not in"):
        check_payload("tenure.subscriptions", "thing.happened", CUSTOMER)


def test_a_payload_of_another_model_is_refused():
    with pytest.raises(UnregisteredEvent, match="invoice.paid carries InvoiceData, not CustomerData"):
        check_payload("tenure.invoices", "invoice.paid", CUSTOMER)


def test_dead_letter_copies_keep_the_event_type_with_their_own_models():
    dead = DeadLetterData(event={"id": "evt_1"}, error="boom", consumer="invoicing-svc")
    check_payload("tenure.invoices.dlq", "invoice.paid", dead)
    check_payload("tenure.invoices.dlq", UNREADABLE_EVENT_TYPE, UnreadableRecordData(raw="{", error="bad", consumer="x"))
    with pytest.raises(UnregisteredEvent):
        check_payload("tenure.invoices.dlq", "invoice.paid", InvoiceData.model_construct())
    with pytest.raises(UnregisteredEvent):
        check_payload("tenure.invoices", "invoice.paid", dead)


def test_quote_and_health_events_are_public_and_instructions_are_not():
    assert set(QUOTE_EVENT_TYPES) | set(HEALTH_EVENT_TYPES) <= set(PUBLIC_EVENT_PAYLOADS)
    assert INTERNAL_EVENT_TYPES <= set(EVENT_PAYLOADS) and INTERNAL_EVENT_TYPES.isdisjoint(PUBLIC_EVENT_PAYLOADS)


def test_every_type_is_entity_dot_verb():
    for event_type in EVENT_PAYLOADS:
        entity, verb = event_type.split(".")
        assert entity and verb, event_type


def test_every_public_payload_has_a_json_schema():
    # What GET /v1/event-types publishes for each type.
    for model in set(PUBLIC_EVENT_PAYLOADS.values()):
        assert model.model_json_schema()["type"] == "object"
