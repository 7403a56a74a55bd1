# Two commands on a fresh machine: `make run` and `make test`. Everything else is below.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
CATALOGS := $(wildcard src/sixty/locales/*/LC_MESSAGES/*.po)

.PHONY: install run test lint typecheck contracts tests tests-embedded tests-services coverage bench lock messages clean

# The venv, the locked dependencies, and the project itself (its build hook compiles the catalogs).
$(STAMP): pyproject.toml requirements.lock hatch_build.py $(CATALOGS)
	@echo "==> creating $(VENV) and installing locked dependencies"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --reinstall-package sixty -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sixty migrate
	PORT=$(PORT) $(BIN)/sixty serve --no-migrate

test: install lint typecheck contracts tests coverage

lint: install
	@echo "==> ruff"
	$(BIN)/ruff check src tests migrations benchmarks hatch_build.py
	$(BIN)/ruff format --check src tests migrations benchmarks hatch_build.py

typecheck: install
	@echo "==> mypy --strict"
	$(BIN)/mypy

contracts: install
	@echo "==> import contracts"
	$(BIN)/lint-imports

# The suite runs on the embedded default, then again on real services when SIXTY_TEST_* URLs are set.
tests: tests-embedded tests-services

tests-embedded: install
	@rm -f .coverage .coverage.*
	@echo "==> tests on the embedded default (SQLite, in-process cache and jobs)"
	env -u SIXTY_TEST_POSTGRES_URL -u SIXTY_TEST_REDIS_URL -u SIXTY_REQUIRE_SERVICES $(BIN)/coverage run -m pytest $(PYTEST_ARGS)

tests-services: install
	@if [ -n "$$SIXTY_TEST_POSTGRES_URL$$SIXTY_TEST_REDIS_URL" ]; then \
		echo "==> tests on real services (PostgreSQL: $${SIXTY_TEST_POSTGRES_URL:-none}, Redis: $${SIXTY_TEST_REDIS_URL:-none})"; \
		$(BIN)/coverage run -m pytest $(PYTEST_ARGS); \
	elif [ "$$SIXTY_REQUIRE_SERVICES" = "1" ]; then \
		echo "SIXTY_REQUIRE_SERVICES=1 but SIXTY_TEST_POSTGRES_URL / SIXTY_TEST_REDIS_URL are not set" >&2; exit 1; \
	else \
		echo "==> no SIXTY_TEST_* URLs: skipping the run on real services"; \
	fi

coverage: install
	@echo "==> coverage (combined over both runs)"
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Refresh requirements.lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

# Extract translatable messages and merge them into every catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output \
		--project=sixty --copyright-holder="Sixty contributors" -o src/sixty/locales/sixty.pot .
	$(BIN)/pybabel update -i src/sixty/locales/sixty.pot -d src/sixty/locales -D sixty \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* htmlcov
