VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hookline
TEST_REDIS_URL ?= redis://127.0.0.1:6379/9

.PHONY: install env run test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The local .env (SECRET_KEY, DEBUG, database, broker, local targets) that manage.py, Celery
# and gunicorn read; `make run` writes it too.
env: install
	$(PY) scripts/run_all.py --write-env-only

run: install
	$(PY) scripts/run_all.py

test: install
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
