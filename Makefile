PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench bench-train eval corpus clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,eval]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	@mkdir -p out
	$(BIN)/flowstyle demo -o out/demo.png

corpus: $(STAMP)
	$(BIN)/flowstyle data build data/corpus
	$(BIN)/python scripts/make_splits.py data/corpus data/splits

bench-train: $(STAMP)
	$(BIN)/python scripts/bench_train.py --out reports/bench_train.md

clean:
	rm -rf $(VENV) build *.egg-info
