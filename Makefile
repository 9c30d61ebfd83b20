# neurocompile: the README's commands. Every target creates the environments it needs.
SHELL := /bin/bash
PY311 ?= $(shell command -v python3.11 || command -v python3)
PY310 ?= $(shell PYENV_VERSION=3.10.13 pyenv which python 2>/dev/null || command -v python3.10)
VENV := .venv
LAVA_VENV := .venv-lava
# Tests that read the NIR paper data find it here; they skip with a reason where it is absent.
export NEUROCOMPILE_PAPER_DATA ?= $(abspath ../shared/nir_paper_data)
export NEUROCOMPILE_LAVA_PYTHON ?= $(abspath $(LAVA_VENV))/bin/python
export NEUROCOMPILE_NIR_DATA_WHEEL ?= $(abspath $(VENV))/wheels/nir-1.0.8-py3-none-any.whl
PYTEST_ARGS ?=

.PHONY: arm-tools all venvs demo test test-main test-lava lint bench bench-quick docs clean

all: test

venvs: $(VENV)/.stamp $(LAVA_VENV)/.stamp $(VENV)/.spinnaker-stamp $(VENV)/.ruff-stamp $(VENV)/.extras-stamp arm-tools

# Main environment: Python 3.11, torch 2.13.0 CPU (from this machine's disk), nir/norse/sinabs/onnx.
# norse is installed with --no-deps: its declared torchvision dependency would pull a CUDA torch.
$(VENV)/.stamp: pyproject.toml
	@test -n "$(PY311)" || { echo "Python 3.11 not found"; exit 1; }
	$(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q "nir==1.0.4" "nirtorch>=2.0,<2.1" "sinabs==3.1.3" "onnx>=1.15" "scikit-learn>=1.3" "matplotlib>=3.7" "pytest>=8" "hypothesis>=6"
	$(VENV)/bin/pip install -q --no-deps "norse==1.1.0"
	$(VENV)/bin/pip install -q -e .
	touch $@

# sPyNNaker 1!7.4.1 (PyNN 0.13.0) lives in the main environment: it only adds packages (checked with
# pip --dry-run: no version of torch/numpy/scipy/sinabs/norse changes). Its tests are marked spinnaker.
$(VENV)/.spinnaker-stamp: $(VENV)/.stamp
	$(VENV)/bin/pip install -q "spynnaker==1!7.4.1"
	touch $@

# Dask distributed (sharded runs, sweeps), unicorn (runs sPyNNaker's own ARM binaries on an emulated core),
# and, with --no-deps (their declared dependencies would change torch), neurobench with snntorch (NeuroBench's
# metrics, compared in tests/test_energy.py), the frameworks whose models load directly (snntorch, rockpool 3.1,
# spikingjelly with loguru), tonic (tests cross-check event binning with its ToFrame);
# nir 1.0.8's wheel is only downloaded: tests/test_events.py runs it in a subprocess for NIRData interop.
# Checked with pip --dry-run: torch, numpy, scipy, nir unchanged.
$(VENV)/.extras-stamp: $(VENV)/.stamp
	$(VENV)/bin/pip install -q "dask[distributed]==2026.8.0" "distributed==2026.8.0" "unicorn==2.1.4"
	$(VENV)/bin/pip install -q --no-deps "neurobench==2.3.0" "snntorch==1.0.0"
	$(VENV)/bin/pip install -q --no-deps "tonic==1.7.0" "importRosbag==1.0.4" "expelliarmus==1.1.12"
	$(VENV)/bin/pip install -q "rockpool==3.1"
	$(VENV)/bin/pip install -q --no-deps "spikingjelly==2.0.0" "loguru==0.7.3"
	$(VENV)/bin/pip download -q --no-deps "nir==1.0.8" -d $(VENV)/wheels
	touch $@

# GCC's ARM fixed-point types (stdfix.h, accum) and qemu-arm to run what it builds: Debian's packages,
# installed when missing and the machine allows it (root and apt-get). Where they cannot be installed the
# ARM tests fail under CI=true (never skip silently there).
arm-tools:
	@if command -v arm-linux-gnueabihf-gcc >/dev/null && command -v qemu-arm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-arm-linux-gnueabihf qemu-user >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-arm-linux-gnueabihf qemu-user >/dev/null; } \
	  || echo "arm-tools: could not install gcc-arm-linux-gnueabihf qemu-user"; \
	else echo "arm-tools: gcc-arm-linux-gnueabihf / qemu-user missing and not installable here (not root)"; fi

# ruff (house style: pyproject.toml [tool.ruff]), checked by `make test` before the suite.
$(VENV)/.ruff-stamp: $(VENV)/.stamp
	$(VENV)/bin/pip install -q "ruff==0.17.6"
	touch $@

# Lava environment: Python 3.10 (lava-nc 0.10.0 does not import on 3.11), no torch.
$(LAVA_VENV)/.stamp: pyproject.toml
	@test -n "$(PY310)" || { echo "Python 3.10 not found (pyenv 3.10.13 expected)"; exit 1; }
	$(PY310) -m venv $(LAVA_VENV)
	$(LAVA_VENV)/bin/pip install -q --upgrade pip
	$(LAVA_VENV)/bin/pip install -q "lava-nc==0.10.0" "pytest>=8" "hypothesis>=6" "tomli>=2"
	$(LAVA_VENV)/bin/pip install -q -e .
	touch $@

demo: $(VENV)/.stamp
	$(VENV)/bin/neurocompile demo

# The whole suite: everything but the Lava tests in .venv, the Lava tests in .venv-lava. A run that
# collects nothing (pytest exit 5) fails. Under CI=true (.ci/run exports it) tests/conftest.py also
# fails every lava/spinnaker/arm/binary test that skips and any run where fewer of them ran than
# were collected; each run prints its "marked tests ran/collected" line.
test: venvs lint
	@r1=0; r2=0; \
	$(VENV)/bin/python -m pytest -m "not lava" $(PYTEST_ARGS) tests || r1=$$?; \
	$(LAVA_VENV)/bin/python -m pytest -m lava $(PYTEST_ARGS) tests || r2=$$?; \
	if [ $$r1 -eq 5 ]; then echo "make test: the main run (.venv, -m 'not lava') collected no tests (pytest exit 5)"; fi; \
	if [ $$r2 -eq 5 ]; then echo "make test: the Lava run (.venv-lava, -m lava) collected no tests (pytest exit 5)"; fi; \
	if [ $$r1 -ne 0 ] || [ $$r2 -ne 0 ]; then \
	  echo "make test: FAILED (main run .venv exit $$r1, Lava run .venv-lava exit $$r2)"; exit 1; fi

lint: $(VENV)/.ruff-stamp
	$(VENV)/bin/ruff check neurocompile targets cli models tests benchmarks

test-main: $(VENV)/.stamp $(VENV)/.spinnaker-stamp
	$(VENV)/bin/python -m pytest -m "not lava" $(PYTEST_ARGS) tests

test-lava: $(LAVA_VENV)/.stamp
	$(LAVA_VENV)/bin/python -m pytest -m lava $(PYTEST_ARGS) tests

# One table (ours, reference system, ratio, goal, met) and out/bench.json; the load average is printed.
bench: venvs
	$(VENV)/bin/python benchmarks/run.py

# Every bench at a small size (well under a minute): checks that each still runs; out/bench-quick.json.
bench-quick: venvs
	$(VENV)/bin/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) $(LAVA_VENV) build *.egg-info
