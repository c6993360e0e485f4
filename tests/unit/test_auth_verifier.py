"""KeyVerifier: a verdict is reused at most 1 s, shared by concurrent requests, and kept up to
5 min while the keeper of keys cannot answer; after that, 503 (never a 500)."""

from __future__ import annotations

import asyncio

import pytest

from tenure_shared.auth import AuthUnavailable, KeyVerifier, Principal, hash_credential

ALICE = Principal(key_id="key_alice", scopes=frozenset({"read"}))


class Keeper:
    """Stands in for subscription-svc's table: which hashes are live, and whether it answers."""

    def __init__(self):
        self.live: dict[str, Principal] = {}
        self.down = False
        self.calls = 0

    async def lookup(self, key_hash: str) -> Principal | None:
        self.calls += 1
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("subscription-svc is down")
        return self.live.get(key_hash)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keeper():
    keeper = Keeper()
    keeper.live[hash_credential("tk_test_alice")] = ALICE
    return keeper


async def test_a_verdict_is_reused_within_the_ttl_and_refreshed_after(keeper):
    clock = FakeClock()
    verifier = KeyVerifier(keeper.lookup, ttl=1.0, clock=clock)
    assert await verifier.verify("tk_test_alice") == ALICE
    keeper.live.clear()  # revoked
    clock.now += 0.5
    assert await verifier.verify("tk_test_alice") == ALICE  # cached
    clock.now += 0.6
    assert await verifier.verify("tk_test_alice") is None  # refused within the second
    assert keeper.calls == 2


async def test_unknown_keys_are_cached_too(keeper):
    clock = FakeClock()
    verifier = KeyVerifier(keeper.lookup, ttl=1.0, clock=clock)
    assert await verifier.verify("tk_test_nobody") is None
    assert await verifier.verify("tk_test_nobody") is None
    assert keeper.calls == 1


async def test_concurrent_requests_share_one_lookup(keeper):
    verifier = KeyVerifier(keeper.lookup)
    answers = await asyncio.gather(*(verifier.verify("tk_test_alice") for _ in range(20)))
    assert answers == [ALICE] * 20
    assert keeper.calls == 1


async def test_while_the_keeper_is_down_the_last_verdict_holds_for_five_minutes(keeper):
    clock = FakeClock()
    verifier = KeyVerifier(keeper.lookup, ttl=1.0, stale_for=300.0, clock=clock)
    assert await verifier.verify("tk_test_alice") == ALICE
    keeper.down = True
    clock.now += 299
    assert await verifier.verify("tk_test_alice") == ALICE
    clock.now += 2
    with pytest.raises(AuthUnavailable) as refused:
        await verifier.verify("tk_test_alice")
    assert refused.value.status == 503 and refused.value.code == "auth_unavailable"


async def test_a_key_never_seen_while_the_keeper_is_down_is_503(keeper):
    keeper.down = True
    verifier = KeyVerifier(keeper.lookup)
    with pytest.raises(AuthUnavailable):
        await verifier.verify("tk_test_alice")


async def test_the_cache_is_bounded(keeper):
    verifier = KeyVerifier(keeper.lookup, max_entries=10)
    for n in range(50):
        await verifier.verify(f"tk_test_guess{n}")
    assert len(verifier._verdicts) == 10
