"""The bad-bytes detector of tenure_shared.edge: NUL, invalid UTF-8 and lone surrogates, raw or escaped."""

from __future__ import annotations

import json

import pytest

from tenure_shared.edge import body_is_clean, request_line_problem, sane_request_id


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\x00b"}',  # a raw NUL
        b'{"name": "a\\u0000b"}',  # an escaped NUL
        b'{"name": "\\ud800"}',  # a lone high surrogate
        b'{"name": "\\udc00x"}',  # a lone low surrogate
        b'{"name": "\\uDBFF\\u0041"}',  # a high surrogate followed by no low one
        b'{"\\u0000": 1}',  # in a key
        b'{"name": "\xff"}',  # invalid UTF-8
        b'{"name": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
        b'{"a": ["x", {"b": "\\\\\\u0000"}]}',  # an escaped backslash, then an escaped NUL
    ],
)
def test_bad_bodies_are_found(body):
    assert not body_is_clean(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"name": "plain"}',
        '{"name": "Zoë 😀"}'.encode(),  # real UTF-8
        b'{"name": "\\ud83d\\ude00"}',  # an escaped surrogate pair
        b'{"name": "\\\\u0000"}',  # an escaped backslash followed by the text "u0000"
        b'{"name": "\\u00e9"}',
        b'{"name": "\\ud800',  # not JSON: left for the route's malformed_json
    ],
)
def test_clean_bodies_pass(body):
    assert body_is_clean(body)


def test_a_large_clean_batch_passes_and_one_bad_event_in_it_is_found():
    events = [
        {"id": f"ev_{i}", "customer_id": "cus_1", "metric_code": "api", "timestamp": "2026-01-01T00:00:00Z"} for i in range(1000)
    ]
    body = json.dumps({"events": events}).encode()
    assert body_is_clean(body)
    events[500]["customer_id"] = "cus_\u0000"
    assert not body_is_clean(json.dumps({"events": events}).encode())


def _scope(path: bytes = b"/v1/plans", query: bytes = b"", headers: list | None = None) -> dict:
    return {"path": path.decode("latin-1"), "raw_path": path, "query_string": query, "headers": headers or []}


@pytest.mark.parametrize(
    ("scope", "where"),
    [
        (_scope(b"/v1/plans/a%00b"), "path"),
        (_scope(b"/v1/plans/%ff"), "path"),
        (_scope(b"/v1/plans/%ed%a0%80"), "path"),
        (_scope(query=b"status=%00"), "query string"),
        (_scope(query=b"starting_after=%c3"), "query string"),
        (_scope(headers=[(b"x-note", b"caf\xe9")]), "header x-note"),
    ],
)
def test_bad_request_lines_are_found(scope, where):
    assert request_line_problem(scope) == where


def test_clean_request_line_passes():
    scope = _scope(b"/v1/plans/caf%C3%A9", b"status=open&x=%E2%82%AC", [(b"authorization", b"Bearer k")])
    assert request_line_problem(scope) is None


def test_request_id_is_kept_only_when_sane():
    assert sane_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in (None, "", "a b", "x" * 200, "é", "-leading"):
        generated = sane_request_id(bad)
        assert generated.startswith("req_") and generated != bad
