# seqlab: every command a user runs. `make help` lists them.
PY      ?= .venv/bin/python
ARGS    ?=
TORCH_CONSTRAINT ?= -c constraints.txt
PORT    ?= 5000

.DEFAULT_GOAL := help
.PHONY: help install test train predict bench data lint clean ui

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv and install seqlab with its dev extra (CPU torch pinned)
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_CONSTRAINT) -e '.[dev]'

test: ## run the test suite (smoke configs, a few minutes on 2 CPU cores)
	$(PY) -m pytest -q $(ARGS)

train: ## train; default experiment sentiment_lstm. make train ARGS="model=cnn trainer.max_epochs=5"
	$(PY) pipelines/train.py $(ARGS)

predict: ## classify texts with a finished run. make predict ARGS='run_id=<id> text="I love this movie"'
	$(PY) pipelines/predict.py $(ARGS)

bench: ## benchmarks on the real datasets; writes outputs/bench/*.json
	$(PY) pipelines/benchmark.py $(ARGS)

data: ## fetch and check every dataset into data/ (or from SEQLAB_DATA_MIRROR)
	$(PY) -m seqlab.data.download $(ARGS)

ui: ## MLflow UI over outputs/mlflow.db on 127.0.0.1:$(PORT)
	$(PY) -m mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db --host 127.0.0.1 --port $(PORT)

lint: ## ruff
	$(PY) -m ruff check src pipelines tests

clean: ## remove outputs/ (runs, MLflow store, reports) and caches
	rm -rf outputs .pytest_cache .ruff_cache
