# Quick start: `make demo` and `make test` each create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of this torch lies on the build machines; installing it first keeps
# pip from pulling a multi-GB CUDA build for the unpinned requirement of a dependency.
TORCH_PIN := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv lint test test-slow demo sample bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e ".[torch,lexicon,chinese,pretrained,ray,serve,tracking,onnx,dev]"
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

# One pytest worker per core (pytest-xdist; each worker's torch uses one thread, see tests/conftest.py).
# PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= auto
test: venv lint
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist worksteal

test-slow: venv
	$(PY) -m pytest -q -m slow

DEMO_TEXTS := "One of the best films I have seen this year." \
	"A dull, predictable plot and wooden acting.<br /><br />Avoid." \
	"I expected to hate it, but it won me over."

demo: venv
	$(VENV)/bin/sentiq train --config configs/demo.yaml --output demo-output/model --overwrite
	$(VENV)/bin/sentiq predict demo-output/model $(DEMO_TEXTS)

sample: venv
	$(PY) scripts/make_sample.py

bench: venv
	$(PY) benchmarks/train_speed.py --quick

clean:
	rm -rf $(VENV) demo-output runs .pytest_cache
