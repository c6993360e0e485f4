"""The cascade-settled rule the test-clock coordinator relies on."""

from tenure_shared.test_clock_sync import ClockCounts, settled


def counts(produced=None, consumed=None, unsent=0, consumes=()):
    return ClockCounts(produced=produced or {}, consumed=consumed or {}, unsent=unsent, consumes=list(consumes))


def test_settled_when_every_consumer_has_every_event_of_its_topics():
    producer = counts(produced={"tenure.subscriptions": 3})
    invoicing = counts(produced={"tenure.payments": 2}, consumed={"tenure.subscriptions": 3}, consumes=["tenure.subscriptions"])
    dunning = counts(consumed={"tenure.payments": 2}, consumes=["tenure.payments"])
    assert settled([producer, invoicing, dunning])


def test_not_settled_while_a_consumer_lags():
    producer = counts(produced={"tenure.subscriptions": 3})
    invoicing = counts(consumed={"tenure.subscriptions": 2}, consumes=["tenure.subscriptions"])
    assert not settled([producer, invoicing])


def test_not_settled_while_events_wait_in_an_outbox():
    producer = counts(produced={"tenure.subscriptions": 3}, unsent=1)
    invoicing = counts(consumed={"tenure.subscriptions": 3}, consumes=["tenure.subscriptions"])
    assert not settled([producer, invoicing])


def test_topics_nobody_consumes_do_not_hold_the_clock():
    assert settled([counts(produced={"tenure.subscriptions.dlq": 1})])
