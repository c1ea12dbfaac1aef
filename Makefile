# hwact: `make demo` and `make test` each set up everything they need on a fresh Debian machine:
# a .venv with the PyPI packages, and (for the RISC-V work) Debian's toolchain when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install
# pytest-xdist workers: the proofs are independent simulator runs.
JOBS   ?= auto

.PHONY: demo test setup rtl bench clean

demo: setup
	$(BIN)/hwact demo -o out/demo

test: setup
	$(BIN)/python -m pytest -n $(JOBS) tests

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v iverilog >/dev/null || { apt-get update -qq && apt-get install -y -qq iverilog; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

# Regenerate the checked-in Verilog of the default units (tests fail if rtl/ is stale).
rtl: setup
	$(BIN)/python -m hwact.defaults rtl

bench: setup
	$(BIN)/python bench/model_throughput.py

clean:
	rm -rf out build sim_build .pytest_cache
