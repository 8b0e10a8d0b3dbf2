# Developer entry points. The shell logic lives in scripts/.
.DEFAULT_GOAL := help
VENV := .venv
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help setup demo test bench clean clean-keys

help:
	@echo "make setup       create $(VENV), install the project with test extras, make sure chromium is installed"
	@echo "make demo        set up, then run idp (:8000), RCP (:8001) and CRI (:8002) with demo data"
	@echo "make test        run the tests on SQLite, and again on PostgreSQL if it answers on 127.0.0.1:5432"
	@echo "                 (extra pytest arguments: make test PYTEST_ARGS='-k logout')"
	@echo "make bench       run the benchmark (idp serve under load; results in bench-results/, see BENCHMARKS.md)"
	@echo "                 (e.g. make bench BENCH_ARGS='--duration 30 --concurrency 32 --scenarios login,refresh')"
	@echo "make clean       remove $(VENV), instance/ and caches (keeps keys/)"
	@echo "make clean-keys  remove the signing keys in keys/"

setup:
	@scripts/setup.sh

demo: setup
	exec $(VENV)/bin/idp demo

test: setup
	@scripts/test.sh $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache build bench-results
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +

clean-keys:
	find keys -mindepth 1 ! -name README.md -exec rm -rf {} +
