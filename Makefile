# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.factloom-installed
# torch first and pinned: an open range would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: demo test install lint bench-kg bench-lp bench-extract bench-sentences clean-store

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH, or run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/factloom ingest samples/patents
	HF_HUB_OFFLINE=1 $(BIN)/factloom extract
	$(BIN)/factloom stats
	$(BIN)/factloom documents
	$(BIN)/factloom facts --limit 10
	@echo "The embedded store keeps running for queries (e.g. '$(BIN)/factloom stats --json'); '$(BIN)/factloom store stop' stops it."

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench-kg: $(STAMP)
	$(BIN)/python bench/kg_write.py

# Goal (a) of the link-prediction issue: reader vs ComplEx trained at the same time for 60 minutes, one core
# each, both with N3 + relation prediction, scored on the full FB15k-237 test split (about 62 minutes in all
# on 2 cores).
bench-lp: $(STAMP)
	$(BIN)/python bench/lp.py --dataset-dir ../shared/data/kg/fb15k-237 --models reader:bench/configs/late-rn3.json,complex:complex-n3rp --budget-minutes 60 --parallel --out bench/out/lp

# Extraction speed (2 threads) and quality against the published reference facts, every design side by side.
bench-extract: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/extract.py --model joint=models/extract/patent-joint --threads 2 \
		--predictions labeler=data/silver/reference_labeler.jsonl

# Sentence-splitter cost per kB from 30 kB to 1.2 MB, next to plain spaCy (about 20 s).
bench-sentences: $(STAMP)
	$(BIN)/python bench/sentences.py

clean-store:
	-$(BIN)/factloom store stop
	rm -rf .factloom
