# beatmq — see README.md. `make run` starts the broker; `make test` installs what
# the tests need and runs all of them.
GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: all build run deps test check unit integration suite interop-rabbitmq deadpeer-rabbitmq \
        fault-matrix screenshots browser-weight bench bench-compare fuzz generate clean

all: build

build:
	$(GO) build -o $(BIN)/beatmq ./cmd/beatmq
	$(GO) build -o $(BIN)/beatmqctl ./cmd/beatmqctl
	$(GO) build -o $(BIN)/beatbench ./cmd/beatbench

run: build
	./$(BIN)/beatmq $(ARGS)

deps:
	bash scripts/install-deps.sh

generate:
	$(GO) generate ./amqp

# Everything CI runs: static checks, unit tests with -race, the interop suite with
# real clients against the built binary, and the amqp091-go integration suite.
test: deps check unit integration suite

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags integration ./integration/...

# Every package's own tests; the interop tests are behind the integration build
# tag (as amqp091-go gates its own), so plain `go test ./...` needs nothing built.
unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# Real clients (amqp091-go, Java, amqplib, pika, Bunny, py-amqp, amqp-tools) against
# the built binary; prints a results table at the end. BEATMQ_INTEROP_CLIENTS=go,pika
# limits the clients, BEATMQ_RESULTS_FILE=path also writes the table there.
integration: deps build
	$(GO) test -tags integration -count=1 -timeout 15m -v ./integration/...

# The amqp091-go v1.16.0 integration suite against a fresh beatmq (needs port 15672).
suite: build
	bash scripts/amqp091-suite.sh

# The same scenarios against a private RabbitMQ 3.10.8 node on loopback, started and
# stopped by scripts/rabbitmq-node.sh (free port, own node name and directory).
interop-rabbitmq:
	WITH_RABBITMQ=1 bash scripts/install-deps.sh
	BEATMQ_TARGET=rabbitmq $(GO) test -tags integration -count=1 -timeout 15m -v ./integration/...

# Only the dead-peer test (a client's host vanishes while the memory alarm blocks
# its connection; network namespaces, needs root) against a private RabbitMQ
# 3.10.8 node: records that RabbitMQ keeps the connection for the whole 90 s
# wait and how soon it closes it once the alarm clears. `make integration` runs
# the same test against beatmq, `make interop-rabbitmq` with the rest.
deadpeer-rabbitmq: build
	WITH_RABBITMQ=1 bash scripts/install-deps.sh
	BEATMQ_TARGET=rabbitmq BEATMQ_INTEROP_CLIENTS=go $(GO) test -tags integration -count=1 -timeout 10m -v \
	  -run 'TestDeadPeerWhileBlocked' ./integration/...

# Every fault kind injected into a connection of every interop client (heartbeat
# 2 s), what each client reports and what the broker does: rewrites the tables of
# docs/client-fault-matrix.md (about 7 minutes; BEATMQ_INTEROP_CLIENTS limits
# the clients). `make integration` runs three of its cells, with assertions.
fault-matrix: deps build
	BEATMQ_FAULT_MATRIX=$(CURDIR)/docs/client-fault-matrix.md $(GO) test -tags integration -count=1 -timeout 40m -v \
	  -run 'TestFaultMatrix' ./integration/...

# The management web page's browser test in headless Chromium, alone, writing
# the README's screenshots (overview, a connection's heartbeat timeline during
# mute-heartbeats, a queue) into docs/screenshots; `make integration` runs it
# with the screenshots in a temporary directory.
screenshots: deps build
	BEATMQ_SCREENSHOTS=$(CURDIR)/docs/screenshots BEATMQ_INTEROP_CLIENTS=go $(GO) test -tags integration -count=1 -timeout 10m -v \
	  -run 'TestBrowserPage$$' ./integration/...

# The connections page with 1,000 amqp091-go connections open: bytes transferred
# on a cold load, time until the table has every row, then the page's own
# refreshes; logged, not asserted.
browser-weight: deps build
	BEATMQ_BROWSER_WEIGHT=1 BEATMQ_INTEROP_CLIENTS=go $(GO) test -tags integration -count=1 -timeout 10m -v \
	  -run 'TestBrowserConnectionsWeight' ./integration/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /integration)

bench-compare: build
	WITH_RABBITMQ=1 bash scripts/install-deps.sh
	bash scripts/bench-compare.sh

# Every fuzz target (broker's FuzzConnection included) for FUZZTIME each, 30s
# by default; FUZZTARGETS=FuzzConnection picks targets by name, FUZZPARALLEL
# sets the number of workers.
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf $(BIN)
