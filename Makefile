PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo serve bench bench-train eval eval-test eval-xtest eval-photo corpus clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,eval,peer,corpus]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	@mkdir -p out
	$(BIN)/flowstyle demo -o out/demo.png

serve: $(STAMP)
	$(BIN)/flowstyle serve

corpus: $(STAMP)
	$(BIN)/python -m tools.corpus.build data/corpus
	$(BIN)/python -m tools.corpus.splits data/corpus data/splits

data/splits: | $(STAMP)
	$(BIN)/python -m tools.corpus.build data/corpus
	$(BIN)/python -m tools.corpus.splits data/corpus data/splits

MODELS_EVAL := artflow-adain,artflow-adaattn,artflow-adaattn-1x16,runs/untrained-w128.safetensors,peer

# two reports: the in-source test split (same packages as the training images, 192 px, every
# experiment) and the cross-source test split (packages never trained on or used for a choice,
# 512 px, each model's default path): the second measures generalisation
eval: eval-test eval-xtest eval-photo

# natural photographs x art from packages never trained on nor used for a choice (tools/corpus:
# ptest), 512 px, each model's default path beside the peer: does the output paint or recolour?
# (texture match beside style match; docs/evaluation.md). Then the README's figure: 6 distinct pairs.
eval-photo: $(STAMP) data/splits
	$(BIN)/flowstyle eval metrics --content data/splits/ptest/content --styles data/splits/ptest/style \
	    --models artflow-adain,artflow-adaattn,artflow-adaattn-1x16,peer --size 512 --max-images 8 --threads 2 --no-pad0 \
	    --out reports/ptest --note "photo x art test split: natural photographs x paintings and illustrations from held-out packages"
	$(BIN)/flowstyle eval grid --content data/splits/ptest/content --styles data/splits/ptest/style \
	    --models artflow-adaattn-1x16,artflow-adaattn-1x16@refine=8,peer --size 384 --max-images 6 --diagonal --threads 2 \
	    --out reports/photo-x-art --note "photo x art test split: six distinct pairs"

eval-test: $(STAMP) data/splits runs/untrained-w128.safetensors
	$(BIN)/flowstyle eval all --content data/splits/test/content --styles data/splits/test/style \
	    --models artflow-adain,artflow-adaattn,artflow-adaattn-1x16,runs/untrained-w128.safetensors,peer \
	    --size 192 --max-images 3 --leak-rounds 10 --threads 2 --out reports/default \
	    --note "held-out test split (tools/corpus/splits.py): contents and styles never used for training or for any choice"

eval-xtest: $(STAMP) data/splits runs/untrained-w128.safetensors
	$(BIN)/flowstyle eval metrics --content data/splits/xtest/content --styles data/splits/xtest/style \
	    --models $(MODELS_EVAL) --size 512 --max-images 6 --threads 2 --no-pad0 --out reports/xtest \
	    --note "cross-source test split (tools/corpus/splits.py): whole packages never trained on nor used for any choice"
	$(BIN)/flowstyle eval grid --content data/splits/xtest/content --styles data/splits/xtest/style \
	    --models artflow-adain,artflow-adaattn,artflow-adaattn-1x16,peer --size 256 --max-images 4 --threads 2 \
	    --out reports/xtest-grid --note "cross-source test split: comparison figure"

runs/untrained-w128.safetensors: | $(STAMP) data/splits
	$(BIN)/flowstyle init-model $@ --width 128 --init-image data/splits/train/content/mate__nature-Aqua.jpg \
	    --init-image data/splits/train/content/mate__nature-Garden.jpg --init-image data/splits/train/content/skimage__motorcycle_right.jpg

# the default path's cost (benchmarks/default_path.py): s/MP at 0.26, 1 and 4 MP against one float32
# pass, the compute floor and the peer; peak memory; bf16 error where bf16 is fast. Run it on an
# idle machine (a few minutes on 2 cores once the default path is 1-2 passes). The older
# per-method/precision table: python -m benchmarks.bench (docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.default_path --sizes 512 1024 2048 --repeats 2 --repeats-large 1 --out reports/bench.md

bench-train: $(STAMP)
	$(BIN)/python -m benchmarks.bench_train --out reports/bench_train.md

clean:
	rm -rf $(VENV) build *.egg-info
