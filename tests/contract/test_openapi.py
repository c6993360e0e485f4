"""Schemathesis over every service's OpenAPI document, against the running e2e stack with the API key.

Bounded: a few generated requests per operation (valid and invalid ones). Fails on any 5xx and on any
response the document does not describe (status, content type, body).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.client import TenureClient

SERVICES = ["subscription", "invoicing", "dunning", "credit", "health-score"]
EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Narrowed on purpose: unknown query parameters are ignored, as HTTP APIs usually do (schemathesis
# would count them as invalid data that must be refused), and the API key is the fixed header the
# test sends, not a generated one.
CONFIG = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False, "with-security-parameters": False}})
# Operations that answer 2xx to input the schema calls invalid, on purpose:
ACCEPTS_INVALID_INPUT = {
    # A batch is accepted event by event: malformed events are reported in `errors` (200), the rest stored.
    "POST /v1/usage-events",
}


def _exercise(operation, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> None:
    rejects_invalid = mode is GenerationMode.NEGATIVE and operation.label not in ACCEPTS_INVALID_INPUT
    checks = CHECKS + ([negative_data_rejection] if rejects_invalid else [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: a failure is reproducible
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=checks)

    run()


# Account-wide state the generated requests may change (settings, the dunning policy, the health
# model): put back afterwards, so tests that run later find the defaults they expect.
ACCOUNT_STATE = [
    ("subscription", "/v1/settings", "patch"),
    ("dunning", "/v1/dunning-policy", "put"),
    ("health-score", "/v1/health-model", "put"),
]


@pytest.fixture
def account_state_restored(api: TenureClient):
    saved = [(service, path, method, api.get(service, path)) for service, path, method in ACCOUNT_STATE]
    yield
    for service, path, method, body in saved:
        getattr(api, method)(service, path, body)


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_tells_the_truth(api: TenureClient, service, account_state_restored):
    base_url = api.urls[service]
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=CONFIG)
    headers = {"Authorization": f"Bearer {api.api_key}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # Invalid input exists only for query parameters and bodies (a string path id takes any text).
        negatable = len(operation.query) > 0 or len(operation.body) > 0
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negatable else (GenerationMode.POSITIVE,):
            try:
                _exercise(operation, mode, base_url, headers)
            except Unsatisfiable:
                continue  # schemathesis found no way to make this operation's input invalid
            except Exception as exc:  # collect every operation's failure, not just the first
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, f"{len(failures)} of {operations} operations failed:\n\n" + "\n\n".join(failures)
