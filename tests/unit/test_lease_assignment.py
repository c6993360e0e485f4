"""Who holds which lease (`tenure_shared.leases.assign`): every wanted resource gets exactly one
owner that wants it, equal workers split evenly, and every worker computes the same answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tenure_shared.leases import OUTBOX, PARTITION, assign, outbox_resource, partition_resource

TOPICS = ["tenure.subscriptions", "tenure.invoices", "tenure.quotes"]
RESOURCES = [partition_resource(t, p) for t in TOPICS for p in range(4)]
workers = st.dictionaries(
    st.sampled_from(["w1", "w2", "w3", "w4"]),
    st.lists(st.sampled_from(RESOURCES), unique=True).map(lambda names: {PARTITION: names}),
    min_size=1,
)


def test_alone_a_worker_holds_everything_it_wants():
    wants = {PARTITION: RESOURCES, OUTBOX: [outbox_resource(s) for s in range(8)]}
    assert set(assign({"w1": wants})) == set(RESOURCES) | {outbox_resource(s) for s in range(8)}


def test_two_equal_workers_split_each_kind_and_spread_each_topic():
    wants = {PARTITION: RESOURCES, OUTBOX: [outbox_resource(s) for s in range(8)]}
    owners = assign({"w1": wants, "w2": wants})
    for kind in (RESOURCES, [outbox_resource(s) for s in range(8)]):
        assert sorted(owners[r] for r in kind).count("w1") == len(kind) // 2
    assert {owners[partition_resource("tenure.quotes", p)] for p in range(4)} == {"w1", "w2"}


def test_a_topic_only_the_newer_worker_consumes_still_gets_an_owner():
    """During a rolling deploy: the old worker does not know tenure.quotes; nothing is left unowned."""
    old = [r for r in RESOURCES if not r.startswith("tenure.quotes")]
    owners = assign({"old": {PARTITION: old}, "new": {PARTITION: RESOURCES}})
    assert set(owners) == set(RESOURCES)
    assert all(owners[partition_resource("tenure.quotes", p)] == "new" for p in range(4))
    assert abs(list(owners.values()).count("old") - list(owners.values()).count("new")) <= 1


@given(workers)
def test_every_wanted_resource_has_one_owner_that_wants_it(wants):
    owners = assign(wants)
    wanted = {r for w in wants.values() for r in w[PARTITION]}
    assert set(owners) == wanted
    assert all(resource in wants[owner][PARTITION] for resource, owner in owners.items())


@given(workers)
def test_the_answer_does_not_depend_on_the_order_the_rows_came_in(wants):
    assert assign(dict(reversed(list(wants.items())))) == assign(wants)


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=40))
def test_workers_that_want_the_same_are_within_one_of_each_other(count, resources):
    names = [f"r:{n}" for n in range(resources)]
    owners = assign({f"w{n}": {PARTITION: names} for n in range(count)})
    loads = [list(owners.values()).count(f"w{n}") for n in range(count)]
    assert max(loads) - min(loads) <= 1
