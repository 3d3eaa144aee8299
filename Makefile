# Prism. `make run` starts everything locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint sandbox install migrate clean demo bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Re-install only when the lock file changes.
$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Web server (threaded, it also serves the sandbox), a real Celery worker and beat. Ctrl-C stops all.
# A first run seeds the demo agency (its login is printed); an existing database is left alone.
run: migrate
	@$(BIN)/python manage.py seed_demo
	@echo "Starting Prism on http://127.0.0.1:$(PORT)/: it says 'Prism is ready' when it is (Ctrl-C stops everything)"
	@# honcho gives each process its own PORT (worker +100, beat +200): SITE_URL, the address
	@# the worker and beat use for the sandbox and in emails, is fixed here for all three.
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/honcho start -f Procfile

# Only the sandbox, on its own port, standing in for Meta beside another deployment.
sandbox: migrate
	SANDBOX_STANDALONE=1 $(BIN)/python manage.py runserver 127.0.0.1:$${SANDBOX_PORT:-8100}

# pytest-xdist: the suite mostly waits (on the sandbox, real processes, a browser), so four
# workers keep two cores busy. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 4
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports --no-cache

# The demo on its own (idempotent): `make demo` after `make clean` gives a fresh one.
demo: migrate
	$(BIN)/python manage.py seed_demo

# The load test (20 users on gunicorn and PostgreSQL; see bench/load.py).
bench: install
	$(BIN)/python bench/load.py

clean:
	rm -rf var
