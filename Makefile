# stockflow — developer entry points. `make test` is the whole suite, exactly
# what CI runs (.ci/run); the recipe lives in deploy/scripts/test.sh.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

SCRIPTS  := deploy/scripts
ARGS     ?=
# A count, not a duration: see FUZZTIME in deploy/scripts/test.sh.
FUZZTIME ?= 2000000x
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN      := bin/stockflow

.PHONY: help run build test test-unit test-integration test-scaleout lint vet fmt fuzz fetch tools \
	kafka-start kafka-stop docker clean compare-statsforecast

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## embedded all-in-one: go run ./cmd/stockflow run $(ARGS)
	lib="$$($(SCRIPTS)/fetch-chdb.sh)"; STOCKFLOW_CHDB_LIB="$$lib" go run ./cmd/stockflow run $(ARGS)

build: ## bin/stockflow, CGO_ENABLED=0 (libchdb.so is loaded at run time)
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/stockflow

test: ## everything CI runs: vet, lint, unit, fuzz, real Kafka integration
	$(SCRIPTS)/test.sh

test-unit: ## go test ./... with the embedded ClickHouse engine
	lib="$$($(SCRIPTS)/fetch-chdb.sh)"; STOCKFLOW_CHDB_LIB="$$lib" go test ./...

test-integration: ## integration tests against a real Apache Kafka broker started for the run
	@libchdb="$$($(SCRIPTS)/fetch-chdb.sh)"; \
	trap '$(SCRIPTS)/kafka-stop.sh' EXIT; \
	eval "$$($(SCRIPTS)/kafka-start.sh)"; \
	STOCKFLOW_CHDB_LIB="$$libchdb" STOCKFLOW_KAFKA_BROKERS="$$KAFKA_BROKERS" \
	  go test -tags integration -run Integration -count=1 ./...

test-scaleout: ## only the three-instance scale-out test (also in make test), verbose, on a broker of its own
	@libchdb="$$($(SCRIPTS)/fetch-chdb.sh)"; \
	trap '$(SCRIPTS)/kafka-stop.sh' EXIT; \
	eval "$$($(SCRIPTS)/kafka-start.sh)"; \
	STOCKFLOW_CHDB_LIB="$$libchdb" STOCKFLOW_KAFKA_BROKERS="$$KAFKA_BROKERS" \
	  go test -tags integration -run ScaleOut -count=1 -v -timeout 30m ./cmd/stockflow

lint: ## golangci-lint (pinned, installed into the cache by `make tools`)
	lint="$$($(SCRIPTS)/fetch-tools.sh)"; "$$lint" run ./...

vet: ## go vet, with and without the integration tag
	go vet ./...
	go vet -tags integration ./...

fmt: ## format the code (gofmt + goimports through golangci-lint)
	lint="$$($(SCRIPTS)/fetch-tools.sh)"; "$$lint" fmt

fuzz: ## fuzz the event decoder for $(FUZZTIME) executions
	go test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./internal/event

compare-statsforecast: ## statsforecast vs stockflow on M4 Weekly and tiny M5 (slow; venv in the cache; not part of test)
	venv="$${STOCKFLOW_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/stockflow}/statsforecast-venv"; \
	[[ -x "$$venv/bin/python" ]] || python3 -m venv "$$venv"; \
	"$$venv/bin/python" -c 'import statsforecast, pandas' 2>/dev/null || "$$venv/bin/pip" install --quiet statsforecast pandas; \
	"$$venv/bin/python" models/compare/statsforecast_compare.py $(ARGS)

fetch: ## fetch libchdb.so and the Apache Kafka jars into the cache
	$(SCRIPTS)/fetch-chdb.sh
	$(SCRIPTS)/fetch-kafka.sh

tools: ## install the pinned golangci-lint into the cache (instant when cached)
	$(SCRIPTS)/fetch-tools.sh

kafka-start: ## start a local Apache Kafka broker (KRaft) on 127.0.0.1
	@$(SCRIPTS)/kafka-start.sh

kafka-stop: ## stop it and remove its state
	@$(SCRIPTS)/kafka-stop.sh

docker: ## build the container image stockflow:$(VERSION)
	docker build -f deploy/docker/Dockerfile --build-arg VERSION=$(VERSION) -t stockflow:$(VERSION) .

clean: ## remove build output
	rm -rf bin
