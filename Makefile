# Two commands: `make demo` (main job) and `make test` (test suite, which builds the docs too);
# `make docs` builds the API reference into site/.
# Both create .venv if absent, install GSL headers if gsl-config is missing
# (Corrfunc builds from source), install the package with [dev], then run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export JAX_ENABLE_X64 := 1

.PHONY: setup demo test docs figures clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v gsl-config >/dev/null 2>&1 || { \
	  echo "gsl-config not found: installing libgsl-dev"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y libgsl-dev; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/shaminfer demo --out runs/demo

test: $(STAMP)
	SHAMINFER_NOTEBOOK_SCALE=small $(PY) -m pytest -q tests

docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

figures: $(STAMP)
	$(PY) notebooks/execute.py --figures figures --scale full

clean:
	rm -rf $(VENV) runs site figures/*.tmp
