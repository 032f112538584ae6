# sealpipe — government electronic seals in bulk.
#
#   make demo    seal a sample batch end to end on embedded defaults
#   make test    install test dependencies, then run every test
#   make bench   run the benchmarks
#   make lint    go vet + staticcheck
#   make fuzz    run every fuzz target briefly
#   make build   build bin/sealpipe

GO          ?= go
DEMO_DATA   ?= demo-data
DEMO_DOCS   ?= 20
TOOLS_CACHE ?= $(HOME)/.cache/sealpipe-tools
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_CACHE)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
BENCH       ?= .
BENCHTIME   ?= 1s

.PHONY: all build demo test deps bench lint fuzz clean

all: build

build:
	$(GO) build -o bin/sealpipe ./cmd/sealpipe

demo: build
	./bin/sealpipe demo --data $(DEMO_DATA) --docs $(DEMO_DOCS)

deps:
	./deploy/local/install-deps.sh

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Short fuzzing of every parser of outside data.
FUZZTIME ?= 15s
fuzz:
	./deploy/local/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin $(DEMO_DATA)
