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

.PHONY: venv lint test test-slow demo sample bench clean chnsenticorp-ensemble waimai-ensemble imdb-stack

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

# Chinese ensemble recipes (configs/chnsenticorp-ensemble.yaml, waimai-ensemble.yaml): fine-tuned e5 runs
# (3 epochs; training seeds 42 and 7, and 13 for waimai, where a third seed lowered the vote's validation
# log-loss) and character TF-IDF on one split, then their soft vote. Each member is trained only when its
# directory is missing; MODELS=path puts them elsewhere (the configs name models/).
MODELS ?= models
SENTIQ := $(VENV)/bin/sentiq
ZH_TFIDF := --set approach=tfidf --set preprocess=chinese --set data.test_size=0.2 --set data.validation_size=0.05

$(MODELS)/%-e5-s42/sentiq.json: | venv
	$(SENTIQ) train -c configs/$*-e5.yaml --set training.epochs=3 -o $(MODELS)/$*-e5-s42
$(MODELS)/%-e5-s7/sentiq.json: | venv
	$(SENTIQ) train -c configs/$*-e5.yaml --set training.epochs=3 --set training.seed=7 -o $(MODELS)/$*-e5-s7
$(MODELS)/%-e5-s13/sentiq.json: | venv
	$(SENTIQ) train -c configs/$*-e5.yaml --set training.epochs=3 --set training.seed=13 -o $(MODELS)/$*-e5-s13
# Each n-gram member's settings were chosen by 5-fold CV on its training split (benchmarks/ngram_cv.py).
TFIDF_chnsenticorp := --set "tfidf.char_ngrams=[1, 4]"
TFIDF_waimai := --set tfidf.C=4
$(MODELS)/%-tfidf/sentiq.json: | venv
	$(SENTIQ) train $(ZH_TFIDF) --set data.source=$* $(TFIDF_$*) -o $(MODELS)/$*-tfidf

# Members in the order of each ensemble config's weights.
ZH_MEMBERS_chnsenticorp := e5-s42 e5-s7 tfidf
ZH_MEMBERS_waimai := e5-s42 e5-s7 e5-s13 tfidf
comma := ,
zh_dirs = $(addprefix $(MODELS)/$(1)-,$(ZH_MEMBERS_$(1)))
.SECONDEXPANSION:
chnsenticorp-ensemble waimai-ensemble: %-ensemble: $$(addsuffix /sentiq.json,$$(call zh_dirs,$$*))
	$(SENTIQ) train -c configs/$*-ensemble.yaml \
		--set "ensemble.members=[$(subst $() ,$(comma) ,$(call zh_dirs,$*))]" \
		-o $(MODELS)/$*-ensemble --overwrite

# IMDB's full-size recipe (configs/imdb-stack.yaml): MiniLM fine-tuned on all 24,000 training reviews
# (head+tail, 256 tokens, 1 epoch; it predicts with windows over the whole review, every 128 tokens) and the
# n-gram hybrid, one split, stacked on the validation reviews.
IMDB_SPLIT := --set data.validation_size=0.04
IMDB_MINILM := --set training.truncation=head+tail --set training.predict_truncation=chunks \
	--set training.chunk_stride=128 --set training.epochs=1 --set training.eval_steps=500

$(MODELS)/imdb-minilm/sentiq.json: | venv
	$(SENTIQ) train -c configs/imdb.yaml $(IMDB_MINILM) $(IMDB_SPLIT) -o $(MODELS)/imdb-minilm
$(MODELS)/imdb-hybrid/sentiq.json: | venv
	$(SENTIQ) train -c configs/compare-imdb.yaml --set approach=hybrid --set "hybrid.parts=[lexicon, tfidf, nb]" \
		$(IMDB_SPLIT) -o $(MODELS)/imdb-hybrid

imdb-stack: $(MODELS)/imdb-minilm/sentiq.json $(MODELS)/imdb-hybrid/sentiq.json
	$(SENTIQ) train -c configs/imdb-stack.yaml --set "ensemble.members=[$(MODELS)/imdb-minilm, $(MODELS)/imdb-hybrid]" \
		-o $(MODELS)/imdb-stack --overwrite

sample: venv
	$(PY) scripts/make_sample.py

bench: venv
	$(PY) benchmarks/train_speed.py --quick

clean:
	rm -rf $(VENV) demo-output runs .pytest_cache
