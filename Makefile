# The two commands of README.md: `make run` and `make test`. Everything they need is
# installed here, from requirements.txt, into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test lint migrate fuzz

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Embedded default: SQLite and a filesystem broker in var/, demo data, web + worker + scheduler,
# and the reference CLM (its own process and database) paired with the demo connection.
CLMSITE_PORT ?= 8000
REFCLM_PORT ?= 8001
PAIRING := $(or $(CLMSITE_VAR_DIR),var)/reference-clm.json
run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py pair_clm "Reference CLM" --clm-url http://127.0.0.1:$(REFCLM_PORT) \
		--clmsite-url http://127.0.0.1:$(CLMSITE_PORT) --write $(PAIRING)
	$(BIN)/python -m refclm migrate --noinput
	$(BIN)/python -m refclm configure $(PAIRING)
	CLMSITE_PORT=$(CLMSITE_PORT) REFCLM_PORT=$(REFCLM_PORT) $(BIN)/honcho start

# The whole suite against whatever DATABASE_URL / REDIS_URL say (SQLite and the
# filesystem broker when unset). Tests keep their own var/ so a running demo is untouched.
test: install $(CHROMIUM)
	CLMSITE_VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Schemathesis against every API operation with a larger budget than the suite's 15 examples
# per operation (contracts/tests/api/test_schema_fuzz.py), and the hypothesis properties of the
# services' validators and the webhook intake with FUZZ_MAX_EXAMPLES each instead of 40-60;
# FUZZ_MAX_EXAMPLES=1000 make fuzz for more.
FUZZ_MAX_EXAMPLES ?= 300
FUZZ_TESTS := contracts/tests/api/test_schema_fuzz.py contracts/tests/test_validator_properties.py \
	connectors/tests/test_webhook_properties.py
fuzz: install
	CLMSITE_VAR_DIR=$(CURDIR)/var/test-fuzz FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) \
		$(BIN)/pytest -m fuzz $(FUZZ_TESTS) -p no:cacheprovider $(PYTEST_ARGS)

# The benchmarks of bench/ and their table (docs/performance.md); DATABASE_URL must name a
# PostgreSQL database of their own. The webhook ones load the server with wrk, installed when missing.
.PHONY: bench
bench: install
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	bench/run_all
