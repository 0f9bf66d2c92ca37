# Pace: every task starts here (README lists the same commands).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2
COMPOSE ?= docker compose
# Tests run with DEBUG off, as production does, with a key of their own (not .env's).
TEST_ENV := PACE_DOTENV= DEBUG=0 SECRET_KEY=$${SECRET_KEY:-pace-tests-only-not-a-secret-5c0b6a1e9f}

.PHONY: run install demo test test-sqlite test-services lint format bench chromium \
	build up down logs psql migrate clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test,bench]"
	touch $@

install: $(VENV)/.installed

# The embedded default's settings for this checkout, written once: `python manage.py ...`
# then works here without exporting anything. Production sets its own (docker-compose.yml).
.env:
	@$(PYTHON) -c "import secrets; print('# Written once by make run: the embedded default of this checkout (not for production).'); print('DEBUG=1'); print('SECRET_KEY=' + secrets.token_urlsafe(50))" > $@
	@echo "Wrote .env (DEBUG on, a generated SECRET_KEY) for python manage.py in this checkout."

demo: install .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

## make run: the embedded default (SQLite, in-memory channel layer, in-process tasks),
## with the demo live race driven by simulated athletes once the server answers.
run: demo
	@race=$$($(PY) manage.py shell -v 0 -c "from events.demo import live_demo_race; print(live_demo_race().pk)"); \
	echo "Live demo race: http://$(HOST):$(PORT)/live/pace-live-demo-10k/10k/"; \
	$(PY) manage.py simulate_race $$race --athletes 60 --speed 1 --url http://$(HOST):$(PORT) --wait 120 & \
	sim=$$!; trap 'kill $$sim 2>/dev/null' EXIT; \
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(PY) manage.py runserver $(HOST):$(PORT)

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

## make lint: ruff, mypy with django-stubs (strict on the logic modules), then the one-way layers
## of docs/architecture.md (import-linter contracts; all three configured in pyproject.toml).
## mypy's Django plugin loads the settings, hence the tests' environment.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	env $(TEST_ENV) $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make test: lint, then the suite on SQLite, then again on PostgreSQL/Redis when configured.
## Browser tests run in a pytest of their own: Playwright keeps an event loop running in
## the test thread, which the async tests' (and the ORM's) sync/async bridges cannot share.
test: install chromium lint test-sqlite test-services

test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL $(TEST_ENV) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q --durations=10 -m "not browser"
	env -u DATABASE_URL -u REDIS_URL $(TEST_ENV) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q --durations=10 -m browser

test-services: install
	@if [ -n "$$DATABASE_URL$$REDIS_URL" ]; then \
		echo "== again on DATABASE_URL=$$DATABASE_URL REDIS_URL=$$REDIS_URL"; \
		env $(TEST_ENV) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q --durations=10 -m "not browser" && \
		env $(TEST_ENV) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q --durations=10 -m browser; \
	else echo "== DATABASE_URL/REDIS_URL not set: PostgreSQL/Redis pass skipped"; fi

## make bench: benchmarks (PostgreSQL and Redis on 127.0.0.1); tables printed, JSON in bench/results/.
## BENCH=http, live, results, pages or strava runs one of them; BENCH_LIVE_ARGS="--athletes 1000 --spectators 2000" sizes the live one.
## The live one runs BENCH_LIVE_SCENARIOS (steady surge restart), one JSON each.
BENCH ?= http live results pages strava replay
BENCH_LIVE_ARGS ?=
BENCH_LIVE_SCENARIOS ?= steady surge restart
BENCH_PAGES_ARGS ?=
bench: install
	$(if $(filter http,$(BENCH)),$(PY) -m bench.http)
	$(if $(filter live,$(BENCH)),for s in $(BENCH_LIVE_SCENARIOS); do $(PY) -m bench.live --scenario $$s $(BENCH_LIVE_ARGS) || exit 1; done)
	$(if $(filter results,$(BENCH)),$(PY) -m bench.results)
	$(if $(filter pages,$(BENCH)),$(PY) -m bench.pages $(BENCH_PAGES_ARGS))
	$(if $(filter strava,$(BENCH)),$(PY) -m bench.strava)
	$(if $(filter replay,$(BENCH)),$(PY) -m bench.replay)

# Production topology (docker-compose.yml), for machines with a Docker engine.
build:
	$(COMPOSE) build
up:
	$(COMPOSE) up -d
down:
	$(COMPOSE) down
logs:
	$(COMPOSE) logs -f --tail=200
psql:
	$(COMPOSE) exec postgres psql -U pace pace
migrate:
	$(COMPOSE) run --rm migrate

clean:
	rm -rf $(VENV) var
