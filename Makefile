# Two commands for a fresh clone: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run run-county serve test bench mock db clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

db: $(STAMP)  ## build the embedded database from the bundled mock data if it is missing
	$(PY) -m analysis init-db

run: db  ## start the dashboard (127.0.0.1:8501 by default, see .streamlit/config.toml); serve.py warms it at start
	$(VENV)/bin/streamlit run serve.py

serve: db  ## WORKERS processes (default: one per core) behind nginx on 127.0.0.1:8501 (PORT=N); Ctrl-C stops all
	$(PY) scripts/serve_workers.py

run-county: $(STAMP)  ## the county scenario: own respondents + the city's published table (data/county.db)
	SATISFACTION_DB=data/county.db $(PY) -m analysis init-db --mock-dir data/mock-county
	SATISFACTION_DB=data/county.db $(VENV)/bin/streamlit run serve.py

test: $(DEV_STAMP)  ## the whole test suite, as CI runs it
	$(PY) -m pytest

bench: $(DEV_STAMP)  ## speed figures for the README
	$(PY) -m bench

mock: $(STAMP)  ## regenerate the bundled mock data (deterministic): the whole city, and the county scenario
	$(PY) -m analysis mock --seed 2026 --out data/mock
	$(PY) -m analysis mock --seed 2026 --scenario county --out data/mock-county

clean:
	rm -rf $(VENV) data/app.db data/app.db-* data/county.db data/county.db-* test-artifacts
