# seqlab: every command a user runs. `make help` lists them.
PY      ?= .venv/bin/python
ARGS    ?=
TORCH_CONSTRAINT ?= -c constraints.txt
# make test: test processes side by side (pytest-xdist); 0 runs the suite in one
TEST_WORKERS ?= 2
PORT    ?= 5000
HOST    ?= 127.0.0.1
LOCAL_STORE := sqlite:///outputs/mlflow.db
BACKEND ?= $(LOCAL_STORE)

.DEFAULT_GOAL := help
.PHONY: help install test train resume sweep compare transfer-report predict generate translate ner register serve bench \
	data lint clean ui server

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv and install seqlab with its dev extra (CPU torch pinned)
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_CONSTRAINT) -e '.[dev]'

test: ## run the test suite (smoke configs, about 10 minutes on 2 CPU cores); TEST_WORKERS=0: in one process
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

train: ## train; default experiment sentiment_lstm. make train ARGS="model=cnn trainer.max_epochs=5"
	$(PY) pipelines/train.py $(ARGS)

resume: ## continue a killed run from its newest checkpoint, in the same MLflow run. make resume RUN=<run_id>
	$(PY) -m seqlab.commands.resume $(RUN) $(ARGS)

sweep: ## hyperparameter sweep. make sweep ARGS='hparams_search=sentiment_lstm_optuna'
	$(PY) pipelines/train.py --multirun $(ARGS)

compare: ## rank runs and write outputs/reports/compare-<experiment>.md. make compare ARGS='experiment=sst2-classification'
	$(PY) pipelines/compare.py $(ARGS)

transfer-report: ## pretrain a small BERT, train 7 families x 3 seeds, compare them. make transfer-report ARGS='seeds=[1,2]'
	$(PY) pipelines/transfer_report.py $(ARGS)

predict: ## classify texts with a finished run. make predict ARGS='run_id=<id> text="I love this movie"'
	$(PY) pipelines/predict.py $(ARGS)

generate: ## continue a prompt with a language model. make generate ARGS='run_id=<id> prompt="ROMEO:" max_new_tokens=200'
	$(PY) pipelines/generate.py $(ARGS)

translate: ## translate texts with a finished run. make translate ARGS='run_id=<id> text="A man is riding a bike."'
	$(PY) pipelines/translate.py $(ARGS)

# ARGS reach the shell with each dollar sign escaped, so texts keep theirs ("for $$1 billion")
ner: ## named entities (text, label, start, end) and a displacy page. make ner ARGS='text="Apple is buying a U.K. startup"'
	$(PY) pipelines/ner.py $(subst $$,\$$,$(value ARGS))

register: ## register a run's model in MLflow's model registry. make register RUN=<run_id> NAME=<name> [ALIAS=champion]
	$(PY) pipelines/register.py "run_id='$(RUN)'" "name='$(NAME)'" $(if $(ALIAS),"alias='$(ALIAS)'")

# PORT defaults to 5001 here (5000 is the UI's); mlflow runs from this venv, whose bin/ serve.py puts on PATH
serve: ## serve a registered model over HTTP on 127.0.0.1. make serve MODEL=models:/<name>@<alias> [PORT=5001] [HOST=]
	$(PY) pipelines/serve.py model=$(MODEL) port=$(if $(filter file,$(origin PORT)),5001,$(PORT)) host=$(HOST)

bench: ## benchmarks beside their peers, same run; outputs/bench/*.json, summary.md, MLflow `bench`. ARGS="--quick"
	$(PY) pipelines/benchmark.py $(ARGS)

data: ## fetch and check every dataset into data/ (or from SEQLAB_DATA_MIRROR)
	$(PY) -m seqlab.commands.download $(ARGS)

# a tracking server (an http URI) serves its own UI at its address: make ui then shows the local store
ui: ## MLflow UI over the runs' store (MLFLOW_TRACKING_URI if a database, else outputs/mlflow.db); PORT (default 5000)
	@store="$${MLFLOW_TRACKING_URI:-$(LOCAL_STORE)}"; \
	case "$$store" in http://*|https://*) \
		echo "MLFLOW_TRACKING_URI=$$store is a tracking server: its UI is at that address; showing $(LOCAL_STORE)"; \
		store="$(LOCAL_STORE)";; \
	esac; \
	$(PY) -m mlflow ui --backend-store-uri "$$store" --default-artifact-root outputs/mlartifacts \
		--host $(HOST) --port $(PORT)

server: ## an MLflow tracking server for a team: BACKEND=sqlite:///outputs/mlflow.db (or postgresql://...)
	mkdir -p outputs
	$(PY) -m mlflow server --backend-store-uri $(BACKEND) --artifacts-destination outputs/mlartifacts \
		--host $(HOST) --port $(PORT)

lint: ## ruff
	$(PY) -m ruff check src pipelines tests

clean: ## remove outputs/ (runs, MLflow store, reports) and caches (data/.cache, test and lint caches); keeps data/
	rm -rf outputs data/.cache .pytest_cache .ruff_cache .hypothesis
