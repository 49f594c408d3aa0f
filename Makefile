# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    the main job: train on the bundled sample corpus, tracked in ./mlflow.db (MLflow)
#   make test   lint + the test suite (two pytest-xdist workers, one test file each at a time: most
#               tests wait on subprocesses, servers and signals; 13-15 min on a busy 2-core machine, vs 18.3 serially)
# Each creates .venv at the repo root on first use and reuses it afterwards.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# what the main job needs (make run, sweep, demo, bench) vs the test tools and every optional
# launcher/backend the tests exercise (make test): the dev extra is ~1.5 GB more
STAMP := $(VENV)/.nbw2v-run
DEV_STAMP := $(VENV)/.nbw2v-dev

.PHONY: run demo sweep test bench bench-train lint clean postgresql cluster-up cluster-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(DEV_STAMP) $(STAMP)

run: $(STAMP)
	$(BIN)/nbw2v-train

# the default 27-run sweep (window x K x dim), 2 parallel jobs, one MLflow group
sweep: $(STAMP)
	$(BIN)/nbw2v-train --multirun sweep=window_k_dim hydra/launcher=joblib hydra.launcher.n_jobs=2

demo: $(STAMP)
	$(BIN)/nbw2v demo

test: $(DEV_STAMP) postgresql
	$(BIN)/ruff check nbw2v tests experiments
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# tests/test_cluster.py runs a real PostgreSQL (Debian package postgresql): installed here when
# missing and apt-get can (root); otherwise those tests skip, saying why
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "make test: installing Debian's postgresql for tests/test_cluster.py" && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	echo "make test: no PostgreSQL server (apt-get install postgresql); tests/test_cluster.py will skip"

bench: $(STAMP)
	$(BIN)/python experiments/bench_kernels.py

# the cluster of docs/sweeps.md on this machine: PostgreSQL + MLflow server + Ray head on
# 127.0.0.1 (state and cluster.env in .cluster/); cluster-down stops exactly what it started
cluster-up: $(DEV_STAMP) postgresql
	$(BIN)/python experiments/local_cluster.py up --dir .cluster

cluster-down:
	$(BIN)/python experiments/local_cluster.py down --dir .cluster

bench-train: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python experiments/bench_train.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check nbw2v tests experiments
	$(BIN)/ruff format --check nbw2v tests experiments

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache outputs
	find . -name __pycache__ -prune -exec rm -rf {} +
