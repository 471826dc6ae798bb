# Two commands: `make demo` (main job) and `make test` (test suite, which builds the docs too);
# `make docs` builds the API reference into site/.
# Both create .venv if absent, install GSL headers if gsl-config is missing
# (Corrfunc builds from source) and Open MPI if mpirun is missing (mpi4py, the
# 2-rank test), install the package with [dev], then run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export JAX_ENABLE_X64 := 1
# pytest-xdist workers of `make test` (0: one process); each takes whole test files (--dist loadfile)
TEST_WORKERS ?= 2

.PHONY: setup demo test docs figures clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@PKGS=; command -v gsl-config >/dev/null 2>&1 || PKGS="libgsl-dev"; \
	command -v mpirun >/dev/null 2>&1 || PKGS="$$PKGS openmpi-bin libopenmpi-dev"; \
	[ -z "$$PKGS" ] || { \
	  echo "installing system packages:$$PKGS (GSL headers for Corrfunc; an MPI library for mpi4py)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $$PKGS; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/shaminfer demo --out runs/demo

test: $(STAMP)
	SHAMINFER_NOTEBOOK_SCALE=small $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

figures: $(STAMP)
	$(PY) notebooks/execute.py --figures figures --scale full

clean:
	rm -rf $(VENV) runs site figures/*.tmp
