# The two commands a newcomer needs are `make demo` and `make test`.

GO ?= go
# Tools that scripts/deps.sh installs with `go install` land here.
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: build deps test demo loadbench stormbench fuzz clean

build:
	mkdir -p bin
	$(GO) build -o bin/hazwatch ./cmd/hazwatch
	$(GO) build -o bin/hazsim ./cmd/hazsim

deps:
	scripts/deps.sh

# Integration tests start real Mosquitto and InfluxDB, hence deps and the
# generous timeout.
test: deps
	$(GO) vet ./...
	staticcheck ./...
	$(GO) test -race -count=1 -timeout 20m ./...

demo:
	scripts/demo.sh

# Not part of test: it takes minutes and the whole machine.
loadbench:
	scripts/loadbench.sh

# Alarm latency under load and in an alert storm (issue 9); about 2 minutes.
stormbench:
	scripts/stormbench.sh

# Short runs of every Fuzz target (FUZZTIME each, default 10s).
fuzz:
	scripts/fuzz.sh

clean:
	rm -rf bin .run
