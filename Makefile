# Two commands matter on a fresh clone:  `make lab` (JupyterLab on the notebooks) and `make test` (every test).
# Both create the virtual environment in .venv on first use.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
NB ?=

.PHONY: env lab test test-unit test-notebooks notebooks check-notebooks bench clean-env

# TORCH_INDEX: where pip takes torch from first, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu for the small
# CPU-only build on a machine whose default torch wheel would be the multi-GB CUDA build.
TORCH_INDEX ?=

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2> >(grep -v "is ignored: it is neither" >&2)
	$(if $(TORCH_INDEX),$(PY) -m pip install -q "torch==2.13.0" --index-url $(TORCH_INDEX),)
	$(PY) -m pip install -q -e ".[dev]" 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(STAMP)

env: $(STAMP)

# JupyterLab refuses to run as root unless told to (containers, CI machines)
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: env
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/

test: test-unit test-notebooks

test-unit: env
	$(PY) -m pytest tests/ -q -ra

test-notebooks: env
	$(PY) -m pytest --nbval notebooks/ -q -ra --durations=0

# Re-execute notebooks one way (.py -> executed .ipynb). `make notebooks NB="02_fopp_scheduler 08_sampling"` for some.
notebooks: env
	$(PY) -m ardiff_edu.nbtools build $(NB)

check-notebooks: env
	$(PY) -m ardiff_edu.nbtools check

bench: env
	$(PY) -m ardiff_edu bench

clean-env:
	rm -rf $(VENV)
