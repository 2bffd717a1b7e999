# Relais — the two commands that matter are `make up` and `make test`; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv lands in ~/.local/bin with `pip install --user`; make it visible to every recipe.
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv
LOCAL := deploy/local
# kustomize renders deploy/k8s; built from the Go module proxy into .local/bin (v5.7.1 builds with Go 1.26).
KUSTOMIZE_VERSION := v5.7.1
KUSTOMIZE := $(CURDIR)/.local/bin/kustomize
# Go from PATH, else where the Go tarball installs it.
GO := $(or $(shell command -v go),/usr/local/go/bin/go)
OVERLAY ?= prod

.PHONY: help install kustomize up down status demo test test-unit lint format schemas k8s simulate bench-router bench-gateway chaos eval-bot train-bot bench-bot bench-context bench-channels bench-webchat bench-pipeline mutate explore clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: ## Install what is missing: uv, the Python deps, the Kafka jars, redis-server, Debian's chromium and prometheus
	@command -v uv >/dev/null || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen --all-packages
	bash $(LOCAL)/kafka.sh install
	bash $(LOCAL)/redis.sh install
	bash $(LOCAL)/chromium.sh install
	bash $(LOCAL)/prometheus.sh install

kustomize: ## Build the pinned kustomize into .local/bin with `go install` (skipped when there)
	@if [ "$$($(KUSTOMIZE) version 2>/dev/null)" != "$(KUSTOMIZE_VERSION)" ]; then \
		[ -x "$(GO)" ] || { echo "kustomize: Go 1.22+ is needed to build kustomize" >&2; exit 1; }; \
		echo "building kustomize $(KUSTOMIZE_VERSION) into .local/bin ..."; \
		GOBIN=$(dir $(KUSTOMIZE)) GOTOOLCHAIN=local $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); \
	fi

up: install ## Start Kafka, Redis, the five services and Prometheus locally; prints the addresses
	bash $(LOCAL)/redis.sh start
	bash $(LOCAL)/kafka.sh start
	bash $(LOCAL)/services.sh start
	bash $(LOCAL)/prometheus.sh start

demo: up ## Start the stack if it is not running, then play a realistic day of customers and agents (RATE a minute, DURATION s, SEED, AGENTS) until Ctrl-C
	$(UV) run python -m demo $(if $(RATE),--rate $(RATE)) $(if $(DURATION),--duration $(DURATION)) $(if $(SEED),--seed $(SEED)) $(if $(AGENTS),--agents $(AGENTS)) $(if $(PACE),--pace $(PACE))

down: ## Stop what `make up` started
	-bash $(LOCAL)/prometheus.sh stop
	-bash $(LOCAL)/services.sh stop
	-bash $(LOCAL)/kafka.sh stop
	-bash $(LOCAL)/redis.sh stop

status: ## What runs locally
	-bash $(LOCAL)/services.sh status
	-bash $(LOCAL)/kafka.sh status
	-bash $(LOCAL)/redis.sh status
	-bash $(LOCAL)/prometheus.sh status

test: install kustomize ## The whole suite; starts a fresh Kafka and Redis for the run and stops them after
	$(UV) run pytest

test-unit: kustomize ## Only the unit tests (no Kafka, no Redis)
	$(UV) run pytest -m unit

lint: ## ruff (lint and format check) and mypy (strict)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

eval-bot: ## Score the bot on its development sets and on every blind set in services/bot/eval/blind/, each apart; JSON in .local/bench/ (RECORD=<bot version> writes new blind sets' first scores)
	$(UV) run python -m relais_bot.evaluation --out .local/bench/bot-eval.json $(if $(RECORD),--record-first-score $(RECORD))

train-bot: ## Regenerate the bot's corpus and retrain its escalation model (services/bot/corpus -> content/escalation-model.npz)
	$(UV) run python services/bot/corpus/generate.py
	$(UV) run python -m relais_bot.training

bench-bot: ## Bot messages/s through its core and through Kafka + Redis (starts them); JSON in .local/bench/
	$(UV) run pytest services/bot/bench/bench_bot.py -q -s -p no:cacheprovider

explore: ## Property tests (hypothesis) with new random examples, ROUNDS times (10 unless set); stops at the first failure, which prints the blob that reproduces it
	for round in $$(seq $(or $(ROUNDS),10)); do \
		HYPOTHESIS_PROFILE=explore $(UV) run pytest -q -p no:cacheprovider $$(grep -rlE --include='test_*.py' '^from hypothesis' libs services tests) || exit 1; \
	done

mutate: ## Mutation testing (mutmut 3) of every domain/ package and libs/contracts with their unit tests, one package at a time; score table, surviving mutants, .local/bench/mutate.json (slow; PACKAGE=router for one)
	@mkdir -p .local/bench
	$(UV) run python bench/mutate.py $(if $(PACKAGE),--package $(PACKAGE)) --max-children $(or $(MUTATE_WORKERS),1)

schemas: ## Regenerate docs/schemas/*.json, docs/asyncapi.yaml, the channels' OpenAPI document, and the PrometheusRule from deploy/prometheus/rules.yml
	$(UV) run python -m relais_contracts.schema_export docs
	$(UV) run python -m relais_channels.openapi services/channels/docs/openapi.json
	$(UV) run python deploy/prometheus/render_rules.py

simulate: ## Router simulator: Erlang C versus the routing core, single and multi-skill, silent agents on first and next responses (a few minutes)
	@mkdir -p .local/bench
	$(UV) run python -m relais_router.simulation .local/bench/simulation.json

bench-router: install ## Router benchmark: 5,000 agents, 50,000 waiting, in process and through Kafka
	$(UV) run python bench/router.py

bench-gateway: install ## Gateway benchmark: 2,000 agent WebSockets on 2 replicas, offer-to-desk latency p50/p99
	$(UV) run python bench/gateway.py

chaos: install ## Chaos run: kill each service, restart Kafka and Redis, wipe Redis, poison records under load; JSON in .local/bench/
	$(UV) run python bench/chaos.py $(CHAOS_ARGS)

k8s: kustomize ## Render the Kubernetes manifests of OVERLAY (dev or prod, default prod) to stdout
	@$(KUSTOMIZE) build deploy/k8s/overlays/$(OVERLAY)

bench-pipeline: install ## Whole path inbound -> bot reply beside a bare aiokafka loop: msg/s, p50/p99, CPU ms/msg; JSON in .local/bench/
	$(UV) run python bench/pipeline.py $(PIPELINE_ARGS)

bench-context: install ## Context store: events materialized per second, read p50/p99 of a 200-message conversation
	$(UV) run python services/context-store/bench/bench_context.py

bench-channels: install ## Channels HTTP ingress: requests/s and p99 to 202 (acks=all); table + .local/bench/channels.json
	$(UV) run python bench/channels.py

bench-webchat: install ## Web chat: widget sockets held by one channels process, memory a socket, reply and message latencies; .local/bench/webchat.json
	$(UV) run python bench/webchat.py

clean: down ## Stop everything and remove local state (.local/)
	rm -rf .local
