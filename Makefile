# sealpipe — government electronic seals in bulk.
#
#   make demo    seal a sample batch end to end on embedded defaults
#   make test    install test dependencies, start the services, run the
#                checks and every test against them, stop the services
#   make check   the static gates alone: gofmt, go mod tidy, go vet,
#                staticcheck, govulncheck
#   make services-up    start Redis, MinIO and a SoftHSM2 token on 127.0.0.1;
#                       write their settings to .services.env
#   make services-down  stop them
#   make bench   run the benchmarks
#   make fuzz    run every fuzz target briefly
#   make build   build bin/sealpipe;  make install: into $(go env GOPATH)/bin

GO          ?= go
# The Go toolchain every target builds and tests with. Go 1.26.8's standard
# library has vulnerabilities govulncheck reports as reachable (net/http,
# crypto/x509, crypto/tls); 1.27.3 has their fixes. The go command fetches
# it from the module proxy on first use (about 76 MB, cached). go.mod still
# accepts Go 1.26. `make GOTOOLCHAIN=local test` uses the installed Go.
GOTOOLCHAIN := go1.27.3
GOT         := GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO)
DEMO_DATA   ?= demo-data
DEMO_DOCS   ?= 20
TOOLS_CACHE ?= $(HOME)/.cache/sealpipe-tools
BENCH       ?= .
BENCHTIME   ?= 1s

# Pinned tools, built with $(GOTOOLCHAIN) (an analyzer must be built with
# the Go it analyses) and cached outside the repository.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_CACHE)/staticcheck-$(STATICCHECK_VERSION)-$(GOTOOLCHAIN)/staticcheck
GOVULNCHECK_VERSION := v1.9.0
GOVULNCHECK := $(TOOLS_CACHE)/govulncheck-$(GOVULNCHECK_VERSION)-$(GOTOOLCHAIN)/govulncheck
# The Go vulnerability database, from the golang.org/x/vulndb module (the
# module proxy serves it; vuln.go.dev may be unreachable), indexed into the
# layout govulncheck -db file:// reads. Bump the version to refresh it.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB      := $(TOOLS_CACHE)/vulndb-$(VULNDB_VERSION)

# Packages whose tests run again under the race detector: those with
# concurrency of their own (stores, key pool, queue, pipeline, engine).
# The race pass runs with -short, which leaves out the pipeline's long
# tables of cases (longTable): under the race detector they alone took
# the package's tests to the 20-minute timeout.
RACE_PKGS   := ./storage/... ./pipeline ./pipeline/keys/... ./workers/... ./internal/engine/...

.PHONY: all build install demo test check deps services-up services-down bench lint fuzz clean

all: build

# -buildvcs=auto stamps the git revision into the binary (`sealpipe
# version`) whatever GOFLAGS says, and skips it outside a git checkout.
build:
	$(GOT) build -buildvcs=auto -o bin/sealpipe ./cmd/sealpipe

install:
	$(GOT) install -buildvcs=auto ./cmd/sealpipe

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
# the first step that failed. internal/testenv/cmd/leftovers lists what the
# shared services hold before the tests and fails after them naming what
# they left behind (buckets, MinIO users and policies, token objects).
test: deps check
	@trap './deploy/local/services.sh down' EXIT; trap 'exit 130' INT TERM; \
	GO=$(GO) ./deploy/local/services.sh up && \
	. "$${SEALPIPE_SERVICES_ENV:-./.services.env}" && \
	echo '$(GOT) run ./internal/testenv/cmd/leftovers save "$$SEALPIPE_SERVICES_DIR/before-tests.json"' && $(GOT) run ./internal/testenv/cmd/leftovers save "$$SEALPIPE_SERVICES_DIR/before-tests.json" && \
	echo '$(GOT) test -count=1 -timeout 20m ./...' && $(GOT) test -count=1 -timeout 20m ./... && \
	echo '$(GOT) test -race -short -count=1 -timeout 20m $(RACE_PKGS)' && $(GOT) test -race -short -count=1 -timeout 20m $(RACE_PKGS) && \
	echo '$(GOT) run ./internal/testenv/cmd/leftovers check "$$SEALPIPE_SERVICES_DIR/before-tests.json"' && $(GOT) run ./internal/testenv/cmd/leftovers check "$$SEALPIPE_SERVICES_DIR/before-tests.json" && \
	echo '$(GOT) run ./internal/mutants' && $(GOT) run ./internal/mutants

# The static gates. Each prints what it checks and fails on any finding.
check: $(STATICCHECK) $(GOVULNCHECK) $(VULNDB)/index/db.json
	@echo 'gofmt -l .' && out=$$("$$($(GOT) env GOROOT)/bin/gofmt" -l .) && \
	  if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GOT) mod tidy -diff
	$(GOT) vet ./...
	GOTOOLCHAIN=$(GOTOOLCHAIN) $(STATICCHECK) ./...
	GOTOOLCHAIN=$(GOTOOLCHAIN) $(GOVULNCHECK) -db file://$(VULNDB) ./...

lint: check

$(STATICCHECK):
	GOBIN=$(dir $@) $(GOT) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOVULNCHECK):
	GOBIN=$(dir $@) $(GOT) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(VULNDB)/index/db.json:
	@echo 'vulndb: indexing golang.org/x/vulndb@$(VULNDB_VERSION) into $(VULNDB) (once; about two minutes)'
	dir=$$($(GOT) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p') && \
	  test -d "$$dir/data/osv" && rm -rf $(VULNDB).tmp && \
	  $(GOT) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$dir/data/osv" -out $(VULNDB).tmp && \
	  rm -rf $(VULNDB) && mv $(VULNDB).tmp $(VULNDB)

bench:
	$(GOT) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

# Short fuzzing of every parser of outside data.
FUZZTIME ?= 15s
fuzz:
	GOTOOLCHAIN=$(GOTOOLCHAIN) ./deploy/local/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin $(DEMO_DATA)
