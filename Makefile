# Tenure: `make dev` starts everything, `make test` runs every test. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := shared services/subscription-svc services/invoicing-svc services/dunning-svc \
            services/credit-svc services/health-score-svc services/notification-svc
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES)) tools/pyproject.toml requirements-dev.txt

.PHONY: dev test test-unit test-service test-integration test-e2e chaos bench install lint clean

$(STAMP): $(PYPROJECTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tenure needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(PACKAGES)) -e 'tools[embedded]' -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start PostgreSQL, the broker and all six services (API + worker each); Ctrl-C stops them.
dev: $(STAMP)
	$(BIN)/tenure dev

## Every layer: unit and service tests on every core (pytest-xdist), then the layers that run on the
## real stack (integration, e2e, contract, browser) as one session. Fails if either part fails.
## XDIST= (empty) runs the fast layers in one process.
XDIST ?= -n auto
STACK_LAYERS := --ignore=tests/unit --ignore=tests/service
test: $(STAMP)
	tools/ensure-chromium
	status=0; \
	$(BIN)/python -m pytest tests/unit tests/service $(XDIST) || status=$$?; \
	$(BIN)/python -m pytest $(STACK_LAYERS) || status=$$?; \
	exit $$status

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(XDIST)

## Each service's app in the test process on a rolled-back transaction: no broker, no peer services.
test-service: $(STAMP)
	$(BIN)/python -m pytest tests/service $(XDIST)

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

## The fault suite (tests/chaos): hundreds of customers while processes, databases and the broker fail; prints its counts.
chaos: $(STAMP)
	TENURE_CHAOS=1 $(BIN)/python -m pytest tests/chaos -q -s

## Every figure beside its ceiling, measured in the same run (docs/benchmarks/README.md); writes bench-report.json.
## BENCH_SIZE=smoke|default|full (default: ~40 min on 2 cores); BENCH_WORKERS=1,2; BENCH_ARGS for more (e.g. --profile DIR).
BENCH_SIZE ?= default
BENCH_WORKERS ?= 1,2
bench: $(STAMP)
	$(BIN)/tenure bench --size $(BENCH_SIZE) --workers $(BENCH_WORKERS) --report bench-report.json $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared services tools tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .tenure .pytest_cache .hypothesis
