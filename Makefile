# opdomain — every target bootstraps what it needs (.venv, Debian packages) itself.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SYSSTAMP:= $(VENV)/.system
RUNSTAMP:= $(VENV)/.system-runtime
HOME_DIR ?= .opdomain-demo
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: demo test bench lint setup system clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(RUNSTAMP): scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh runtime
	touch $(RUNSTAMP)

$(SYSSTAMP): scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh test
	touch $(SYSSTAMP)

setup: $(STAMP) $(SYSSTAMP)

demo: $(STAMP) $(RUNSTAMP)
	$(BIN)/opdomain demo --home $(HOME_DIR) --serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q

bench: $(STAMP) $(RUNSTAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/opdomain

clean:
	rm -rf $(VENV) .opdomain .opdomain-demo .pytest_cache tests/artifacts bench/results
