"""The credentials subscription-svc issues: random, prefixed, and stored only as a hash."""

from __future__ import annotations

import hashlib

from tenure_shared.auth import Principal, hash_credential, principal_from_json, principal_to_json
from tenure_shared.logging import redact_text
from tenure_subscription.access.credentials import (
    new_api_key,
    new_portal_link_token,
    new_portal_session_credential,
    normalised_scopes,
    visible_prefix,
)


def test_api_keys_are_prefixed_by_environment_and_random():
    live, test = new_api_key(live=True), new_api_key(live=False)
    assert live.startswith("tk_live_") and test.startswith("tk_test_")
    assert len(live) >= len("tk_live_") + 43  # 32 random bytes, URL-safe base64
    assert len({new_api_key(live=True) for _ in range(100)}) == 100


def test_the_visible_prefix_does_not_reveal_the_key():
    key = new_api_key(live=True)
    prefix = visible_prefix(key)
    assert key.startswith(prefix) and prefix.startswith("tk_live_")
    assert len(key) - len(prefix) >= 36  # over 200 random bits stay hidden


def test_the_stored_hash_is_the_sha256_of_the_key():
    key = new_api_key(live=False)
    assert hash_credential(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key not in hash_credential(key)


def test_portal_credentials_have_their_own_prefixes():
    assert new_portal_link_token().startswith("tk_link_")
    assert new_portal_session_credential().startswith("tk_sess_")


def test_every_issued_credential_is_masked_in_logs():
    for credential in (new_api_key(live=True), new_api_key(live=False), new_portal_link_token(), new_portal_session_credential()):
        assert credential not in redact_text(f"path=/portal/sessions/{credential} other")


def test_scopes_are_kept_once_each_in_canonical_order():
    assert normalised_scopes(["admin", "read", "read"]) == ["read", "admin"]


def test_a_principal_travels_between_services_unchanged():
    portal = Principal(key_id="ps_1", scopes=frozenset({"portal"}), customer_id="cus_1")
    key = Principal(key_id="key_1", scopes=frozenset({"read", "write"}))
    assert principal_from_json(principal_to_json(portal)) == portal
    assert principal_from_json(principal_to_json(key)) == key
    assert principal_from_json(principal_to_json(None)) is None


def test_admin_implies_the_other_scopes_and_portal_none():
    admin = Principal(key_id="k", scopes=frozenset({"admin"}))
    portal = Principal(key_id="p", scopes=frozenset({"portal"}), customer_id="cus_1")
    assert admin.has_scope("read") and admin.has_scope("write")
    assert not portal.has_scope("read") and portal.customer_scoped
