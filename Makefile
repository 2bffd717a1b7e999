# Relais — the two commands that matter are `make up` and `make test`; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv lands in ~/.local/bin with `pip install --user`; make it visible to every recipe.
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv
LOCAL := deploy/local

.PHONY: help install up down status test test-unit lint format schemas clean bench-context

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install what is missing: uv, the Python deps, the Kafka jars, redis-server
	@command -v uv >/dev/null || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen --all-packages
	bash $(LOCAL)/kafka.sh install
	bash $(LOCAL)/redis.sh install

up: install ## Start Kafka, Redis and the four services locally; prints the API addresses
	bash $(LOCAL)/redis.sh start
	bash $(LOCAL)/kafka.sh start
	bash $(LOCAL)/services.sh start

down: ## Stop what `make up` started
	-bash $(LOCAL)/services.sh stop
	-bash $(LOCAL)/kafka.sh stop
	-bash $(LOCAL)/redis.sh stop

status: ## What runs locally
	-bash $(LOCAL)/services.sh status
	-bash $(LOCAL)/kafka.sh status
	-bash $(LOCAL)/redis.sh status

test: install ## The whole suite; starts a fresh Kafka and Redis for the run and stops them after
	$(UV) run pytest

test-unit: ## Only the unit tests (no Kafka, no Redis)
	$(UV) run pytest -m unit

lint: ## ruff (lint and format check) and mypy (strict)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

schemas: ## Regenerate docs/schemas/*.json and docs/asyncapi.yaml from the event models
	$(UV) run python -m relais_contracts.schema_export docs

bench-context: install ## Context store: events materialized per second, read p50/p99 of a 200-message conversation
	$(UV) run python services/context-store/bench/bench_context.py

clean: down ## Stop everything and remove local state (.local/)
	rm -rf .local
