"""health-score-svc's public API: signals (dedupe, per-item errors), the model, lists, stages and friction."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan

HEALTH = "health-score"


def test_signals_dedupe_update_and_report_per_item_errors(api: TenureClient):
    clock = api.create_clock("2026-05-01T00:00:00Z")
    who = customer(api, clock)
    ticket = {
        "id": api.unique("tkt"),
        "customer_id": who,
        "opened_at": "2026-04-30T10:00:00Z",
        "severity": "high",
        "status": "open",
    }
    reply = api.post(
        HEALTH,
        "/v1/signals/tickets",
        {
            "tickets": [
                ticket,
                ticket,  # the same again: a duplicate
                {**ticket, "id": api.unique("tkt"), "severity": "blocker"},
                {**ticket, "id": api.unique("tkt"), "customer_id": "cus_nobody"},
            ]
        },
    )
    assert (reply["accepted"], reply["duplicates"], reply["rejected"]) == (1, 1, 2)
    assert [(e["index"], e["code"], e["field"]) for e in reply["errors"]] == [
        (2, "invalid_field", "severity"),
        (3, "customer_not_found", "customer_id"),
    ]
    health = api.get(HEALTH, f"/v1/customers/{who}/health")
    support = next(f for f in health["factors"] if f["name"] == "support")
    assert support["score"] == 100 - 20 - 5 and support["detail"].startswith("1 open ticket (1 high)")

    closed = {**ticket, "status": "closed", "closed_at": "2026-05-01T00:00:00Z"}
    assert api.post(HEALTH, "/v1/signals/tickets", {"tickets": [closed]})["updated"] == 1
    health = api.get(HEALTH, f"/v1/customers/{who}/health")
    assert next(f for f in health["factors"] if f["name"] == "support")["detail"].startswith("0 open tickets (none)")


def test_a_bad_batch_shape_is_refused_whole(api: TenureClient):
    who = customer(api, api.create_clock("2026-05-01T00:00:00Z"))
    survey = {"id": api.unique("s"), "customer_id": who, "kind": "csat", "score": 4, "answered_at": "2026-04-30T00:00:00Z"}
    for body, code in (
        ({"survey": [survey]}, "invalid_signal_batch"),
        ({"surveys": [survey] * 1001}, "too_many_signals"),
    ):
        response = api.request(HEALTH, "POST", "/v1/signals/surveys", json=body)
        assert (response.status_code, response.json()["code"]) == (422, code)
    response = api.request(HEALTH, "POST", "/v1/signals/surveys", content=b"{nope", headers={"content-type": "application/json"})
    assert response.json()["code"] == "malformed_json"
    assert api.request(HEALTH, "GET", f"/v1/customers/{who}/health").json()["code"] == "health_not_found"
    out_of_range = {**survey, "score": 6}
    reply = api.post(HEALTH, "/v1/signals/surveys", {"surveys": [out_of_range]})
    assert (reply["accepted"], reply["errors"][0]["code"]) == (0, "invalid_field")


def test_health_model_is_validated_with_problem_codes(api: TenureClient):
    model = api.get(HEALTH, "/v1/health-model")
    assert model["bands"] == {"healthy_min": 70, "at_risk_min": 40} and model["weights"]["payment"] == 25
    for bad in ({"weights": {"payment": 0}}, {"bands": {"healthy_min": 30, "at_risk_min": 50}}, {"unknown": 1}):
        response = api.request(HEALTH, "PUT", "/v1/health-model", json=bad)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_health_model")
    candidate = {**model, "risk_drop_points": 20}
    dry = api.request(HEALTH, "PUT", "/v1/health-model?dry_run=true", json=candidate).json()
    assert (dry["model"]["risk_drop_points"], dry["backtest"]) == (20, None)
    assert api.get(HEALTH, "/v1/health-model")["risk_drop_points"] == 15  # a dry run stores nothing


def test_lists_and_summary_keep_to_the_test_clock_and_sort_by_score(api: TenureClient):
    clock = api.create_clock("2026-05-01T00:00:00Z")
    team = plan(api, "Team", 5000)
    calm, worried = customer(api, clock), customer(api, clock)
    for who in (calm, worried):
        api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": team})
    api.wait_ready(clock)
    nps = {"id": api.unique("nps"), "customer_id": worried, "kind": "nps", "score": 0, "answered_at": "2026-05-01T00:00:00Z"}
    api.post(HEALTH, "/v1/signals/surveys", {"surveys": [nps]})
    ordered = api.list_all(HEALTH, "/v1/health", test_clock_id=clock, sort="score")
    assert [h["customer_id"] for h in ordered] == [worried, calm]
    assert ordered[0]["score"] < ordered[1]["score"]
    assert [h["customer_id"] for h in api.list_all(HEALTH, "/v1/health", test_clock_id=clock, sort="-score")] == [calm, worried]
    assert all(h["customer_id"] not in (calm, worried) for h in api.list_all(HEALTH, "/v1/health"))  # real time only
    summary = api.get(HEALTH, "/v1/health/summary", params={"test_clock_id": clock})
    assert summary["total"] == 2 and summary["by_stage"]["onboarding"] == 2
    bad = api.request(HEALTH, "GET", "/v1/health", params={"sort": "name"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_sort")


def test_first_value_ends_onboarding_and_friction_follows_billing_events(api: TenureClient):
    clock = api.create_clock("2026-05-01T00:00:00Z")
    big, small = plan(api, "Big", 20000), plan(api, "Small", 5000)
    who = customer(api, clock)
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": big})
    api.wait_ready(clock)
    assert api.get(HEALTH, f"/v1/customers/{who}/health")["lifecycle_stage"] == "onboarding"

    api.advance(clock, "2026-05-03T00:00:00Z")
    login = {"id": api.unique("a"), "customer_id": who, "name": "login", "at": "2026-05-03T00:00:00Z"}
    api.post(HEALTH, "/v1/signals/activity", {"events": [login]})
    health = api.get(HEALTH, f"/v1/customers/{who}/health")
    assert health["lifecycle_stage"] == "adoption" and health["time_to_first_value"] == "P2D"

    api.post("subscription", f"/v1/subscriptions/{subscription['id']}/changes", {"plan_code": small, "when": "now"})
    api.wait_ready(clock)
    friction = next(f for f in api.get(HEALTH, f"/v1/customers/{who}/health")["factors"] if f["name"] == "billing_friction")
    assert friction["score"] == 80
    assert friction["detail"] == "1 downgrade, 0 pauses and 0 free-plan moves in the last 90 days; no cancellation scheduled."

    api.advance(clock, "2026-05-28T00:00:00Z")  # within 7 days of the renewal
    health = api.get(HEALTH, f"/v1/customers/{who}/health")
    assert health["lifecycle_stage"] == "renewal"
    history = api.list_all(HEALTH, f"/v1/customers/{who}/health/history")
    assert [h["lifecycle_stage"] for h in history][:1] == ["onboarding"] and history[-1]["lifecycle_stage"] == "renewal"


def test_a_real_time_signal_shows_in_the_score(api: TenureClient):
    """Real time: the recompute is a debounced due job the worker runs within about a second."""
    who = customer(api, None)
    nps = {"id": api.unique("nps"), "customer_id": who, "kind": "nps", "score": 3, "answered_at": datetime.now(UTC).isoformat()}
    api.post(HEALTH, "/v1/signals/surveys", {"surveys": [nps]})
    deadline = time.monotonic() + 30
    while (response := api.request(HEALTH, "GET", f"/v1/customers/{who}/health")).status_code == 404:
        assert time.monotonic() < deadline, "no score after 30 s"
        time.sleep(0.05)
    sentiment = next(f for f in response.json()["factors"] if f["name"] == "sentiment")
    assert sentiment["score"] == 30
    critical = api.list_all(HEALTH, "/v1/health", status="critical")  # without test_clock_id: real-time customers
    assert who in [h["customer_id"] for h in critical]


def test_backtest_scores_before_renewal_and_churn(api: TenureClient):
    clock = api.create_clock("2026-01-01T00:00:00Z")
    team = plan(api, "Team", 5000)
    unhappy, happy = customer(api, clock), customer(api, clock)
    subscriptions = {
        who: api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": team}) for who in (unhappy, happy)
    }
    api.wait_ready(clock)
    api.advance(clock, "2026-01-20T00:00:00Z")
    for who, score in ((unhappy, 0), (happy, 10)):
        nps = {"id": api.unique("nps"), "customer_id": who, "kind": "nps", "score": score, "answered_at": "2026-01-20T00:00:00Z"}
        api.post(HEALTH, "/v1/signals/surveys", {"surveys": [nps]})
    urgent = {"customer_id": unhappy, "opened_at": "2026-01-20T00:00:00Z", "severity": "urgent", "status": "open"}
    api.post(HEALTH, "/v1/signals/tickets", {"tickets": [{**urgent, "id": api.unique("t")}, {**urgent, "id": api.unique("t")}]})
    api.advance(clock, "2026-02-15T00:00:00Z")  # both renew on 02-01
    api.post("subscription", f"/v1/subscriptions/{subscriptions[unhappy]['id']}/cancel", {"when": "now"})
    api.wait_ready(clock)
    window = {"from": "2026-02-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "horizon_days": 7, "test_clock_id": clock}
    report = api.get(HEALTH, "/v1/health-model/backtest", params=window)
    assert (report["customers"], report["churned"], report["auc"]) == (2, 1, "1.0000")
    assert report["by_band"]["critical"]["churned"] + report["by_band"]["at_risk"]["churned"] == 1
    query = "&".join(f"{k}={v}" for k, v in window.items())
    candidate = api.request(HEALTH, "PUT", f"/v1/health-model?dry_run=true&{query}", json={}).json()
    assert candidate["backtest"]["model"] == "candidate" and candidate["backtest"]["customers"] == 2
    bad = api.request(
        HEALTH, "GET", "/v1/health-model/backtest", params={"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_backtest_window")
