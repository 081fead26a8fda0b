# arcanos — make targets. `make ci` is what CI runs (via .ci/run).
SHELL := /bin/bash
GO    ?= go
BUF   := $(GO) tool -modfile=tools/go.mod buf
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/arcanos-dev/arcanos/pkg/purge.Version=$(VERSION) -X main.Version=$(VERSION)
BINARIES := arcanos-agent

.PHONY: all build package proto proto-check lint vet test testbed ci run-local demo bench clean

all: build

## build: compile the binaries into bin/
build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/arcanos-agent ./agent/cmd/arcanos-agent
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/arcanos-controller ./controller/cmd/arcanos-controller
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/arcanosctl ./cli/cmd/arcanosctl

## package: .deb and .rpm of the agent and the controller into dist/, built
## with nfpm (a Go tool in tools/go.mod) from deploy/nfpm/*.yaml; the package
## version comes from git (deploy/package-version.sh)
NFPM        := $(GO) tool -modfile=tools/go.mod nfpm
PKG_VERSION ?= $(shell bash deploy/package-version.sh)
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
package: build
	@mkdir -p dist
	@for pkg in agent controller; do for fmt in deb rpm; do \
	  ARCANOS_BIN=bin PKG_VERSION='$(PKG_VERSION)' PKG_ARCH='$(PKG_ARCH)' \
	    $(NFPM) package --config deploy/nfpm/$$pkg.yaml --packager $$fmt --target dist/ || exit 1; \
	done; done

## proto: regenerate Go code from proto/ with buf
proto:
	$(BUF) lint
	$(BUF) generate

## proto-check: buf lint, and fail when the committed generated code is stale
proto-check:
	$(BUF) lint
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(BUF) generate --template '{"version":"v2","plugins":[{"local":["go","tool","-modfile=tools/go.mod","protoc-gen-go"],"out":"'"$$tmp"'","opt":["paths=source_relative"]},{"local":["go","tool","-modfile=tools/go.mod","protoc-gen-go-grpc"],"out":"'"$$tmp"'","opt":["paths=source_relative"]}]}' && \
	  if ! diff -r "$$tmp" proto/gen; then echo "generated code in proto/gen is stale: run 'make proto' and commit"; exit 1; fi
	@# Wire compatibility: no breaking change against main (agents one version
	@# apart must keep working with the controller).
	@if git rev-parse --verify -q main >/dev/null; then \
	  $(BUF) breaking --against '.git#branch=main' && echo "proto: no breaking change against main"; \
	else echo "proto: no main branch here to check breaking changes against"; fi
	@echo "proto: lint clean, generated code up to date"

## vet: go vet and gofmt
vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^proto/gen/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: run the tests; tests whose real component is missing skip, naming it
test:
	$(GO) test ./...

## testbed: install and start the real components (Docker, PM2, systemd image)
testbed:
	bash scripts/testbed-setup.sh

## ci: everything CI checks, with the real components and no skipped test
ci: testbed vet proto-check build
	ARCANOS_TESTBED_STRICT=1 bash scripts/ci-test.sh

## run-local: a dry-run purge of this machine
run-local: build
	@# Exit 3 only means unauthorized findings were shown: that is the demo.
	./bin/arcanos-agent purge --dry-run --log-dir logs || [ $$? -eq 3 ]

## demo: a controller and three enrolled agents (web-1, web-2, db-1) on this
## machine, and a fleet dry run of web-* with live progress; cleans up after
demo: build
	bash scripts/demo.sh

## bench: the benchmarks written up in docs/benchmarks.md
bench: build
	bash scripts/bench-procs.sh
	bash scripts/bench-dryrun.sh
	WITH_PM2=1 bash scripts/bench-dryrun.sh
	bash scripts/bench-fleet.sh

clean:
	rm -rf bin logs dist
