# sealpipe — government electronic seals in bulk.
#
#   make demo    seal a sample batch end to end on embedded defaults
#   make test    install test dependencies, start the services, run every
#                test against them, stop the services
#   make services-up    start Redis, MinIO and a SoftHSM2 token on 127.0.0.1;
#                       write their settings to .services.env
#   make services-down  stop them
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

.PHONY: all build demo test deps services-up services-down bench lint fuzz clean

all: build

build:
	$(GO) build -o bin/sealpipe ./cmd/sealpipe

demo: build
	./bin/sealpipe demo --data $(DEMO_DATA) --docs $(DEMO_DOCS)

deps:
	./deploy/local/install-deps.sh

# Services on loopback for development and tests (deploy/local/README.md).
services-up:
	GO=$(GO) ./deploy/local/services.sh up

services-down:
	./deploy/local/services.sh down

# The services are stopped whatever happens; the recipe keeps the status of
# the first step that failed.
test: deps
	@trap './deploy/local/services.sh down' EXIT; trap 'exit 130' INT TERM; \
	GO=$(GO) ./deploy/local/services.sh up && \
	. "$${SEALPIPE_SERVICES_ENV:-./.services.env}" && \
	echo '$(GO) vet ./...' && $(GO) vet ./... && \
	echo '$(GO) test -count=1 -timeout 20m ./...' && $(GO) test -count=1 -timeout 20m ./...

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
