# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
AZURITE := node_modules/.bin/azurite

.PHONY: install browser test lint checkov demo host clean

install: $(STAMP) $(AZURITE)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*; touch $@

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium for the console's browser tests (Playwright drives it; it never downloads a
# browser of its own). Quiet and quick when it is installed already.
CHROMIUM := /usr/bin/chromium

browser:  ## Debian's chromium package, for tests/console (apt-get: root, or run it with sudo)
	@test -x $(CHROMIUM) || { \
	  test "$$(id -u)" = 0 || { echo "make browser: needs root: sudo apt-get install -y chromium"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Two workers, a test file each at a time (--dist loadfile keeps a file's fixtures together):
# the suite mostly waits on Azurite and the sandboxes, and each worker starts its own on free
# ports. PYTEST_ARGS="-n 0" runs it in one process.
test: install browser  ## run the whole test suite (Azurite and sandboxes start on free ports)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install  ## ruff, mypy and the import contracts (pyproject.toml), as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# checkov lives in its own venv: its pins (pycep-parser, packaging, boto3) clash with the dev
# tools' (requirements-checkov.txt says which). --skip-download keeps it offline.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements-checkov.txt | cut -d' ' -f1)
CHECKOV := $(CHECKOV_VENV)/bin/checkov --skip-download --compact --quiet

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-*; touch $@

checkov: $(CHECKOV_STAMP)  ## checkov on infra/ (Bicep) and .github/workflows/ as CI runs it; skips are inline, each with its reason
	$(CHECKOV) --directory infra --framework bicep
	$(CHECKOV) --directory .github/workflows --framework github_actions

demo: install  ## Azurite + sandboxes + local host, a demo account, scheduled syncs, then the audit
	$(BIN)/python -m shared demo

host: install  ## run the local Functions host (settings as the CLI takes them: `python -m shared --help`, --settings)
	$(BIN)/python -m shared host

clean:
	rm -rf .local .venv-checkov .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache

.PHONY: bench
bench: install  ## contacts push benchmark (~10 min): tables on stdout, bench/results/contacts_push.md
	$(BIN)/python -m bench.contacts_push $(BENCH_ARGS)

.PHONY: chaos
chaos: install  ## full-size chaos suite (~15 min): kills at every operation, duplicates, faults, poison messages, neighbours; bench/results/chaos.md
	CHAOS_SIZE=full $(BIN)/python -m pytest -q -p no:cacheprovider tests/chaos $(PYTEST_ARGS)

.PHONY: bench-suppressions
bench-suppressions: install  ## SuppressionLists at 10,000 and 100,000 suppressions: bench/results/suppression_lists.md
	$(BIN)/python -m bench.suppression_lists $(BENCH_ARGS)

.PHONY: bench-campaigns
bench-campaigns: install  ## CampaignStatistics (Detailed) for one campaign sent to 100,000 contacts: bench/results/campaign_statistics.md
	$(BIN)/python -m bench.campaign_statistics $(BENCH_ARGS)

.PHONY: bench-scheduler
bench-scheduler: install  ## scheduler tick at 1,000 and 10,000 accounts: bench/results/scheduler.md
	$(BIN)/python -m bench.scheduler $(BENCH_ARGS)

.PHONY: fuzz-admin-api
fuzz-admin-api: install  ## schemathesis against the admin API's OpenAPI over the local host (~10 min): bench/results/admin_api_fuzz.md
	$(BIN)/python -m bench.admin_api_fuzz $(BENCH_ARGS)

.PHONY: fuzz-webhooks
fuzz-webhooks: install  ## 10,000 generated webhook posts through the endpoint (~1 min): bench/results/webhook_fuzz.md
	$(BIN)/python -m bench.webhook_fuzz $(BENCH_ARGS)

.PHONY: bench-webhooks
bench-webhooks: install  ## 1,000 Dynamics contact edits at 10/s through the webhook to the address book (~5 min): bench/results/webhook_latency.md
	$(BIN)/python -m bench.webhook_latency $(BENCH_ARGS)
