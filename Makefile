# Everything a developer, CI and `sam build` run. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.6.1
GOBIN := $(shell $(GO) env GOPATH)/bin
# The Lambda build: static, no RPC shim, stripped, reproducible paths.
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags "-s -w"

.PHONY: help run invoke invoke-all bench fuzz test test-fast screenshot lint funcsize fmt-check vet staticcheck template-check build build-lambda clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# RUN_FLAGS passes cmd/local's own flags: RUN_FLAGS='-allow-hosts dev.example -concurrent 4'.
RUN_FLAGS ?=
run: ## serve the API on http://127.0.0.1:3000 (emulated upstream unless RECOGNITION_TOKEN is set)
	@echo "make run: building cmd/local (the first build on empty caches takes about a minute)"
	@$(GO) build -o bin/local ./cmd/local
	./bin/local -addr 127.0.0.1:3000 $(RUN_FLAGS)

# cmd/invoke reads events/env.json, and starts the emulator and a moto_server with the event's
# objects when no token or AWS_ENDPOINT_URL is set; FUNCTION is read from the event unless given.
invoke: ## run events through the real bootstrap, set up as each needs: make invoke EVENT=events/s3-put.json (no EVENT: every fixture)
	$(GO) run ./cmd/invoke $(if $(FUNCTION),-function $(FUNCTION)) $(EVENT)

invoke-all: ## every events/*.json fixture through its function; fails unless each ends in a 200 or a written solution
	$(GO) run ./cmd/invoke

bench: ## benchmarks, and docs/performance.md against Pillow and libvips (needs python3-pil, libvips-dev)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/bench -out docs/performance.md

# Simulated providers through the real chain, fixed seed, no network: docs/accuracy.md's table.
.PHONY: accuracy
accuracy: ## the accuracy simulation: wrong challenges, calls, cost and latency with consensus off and on, per threshold
	$(GO) run ./cmd/accuracy

# Every fuzz target, as package:Function. `make test` replays their seeds and testdata/fuzz corpora.
FUZZ_TARGETS := internal/question:FuzzResolve internal/httpapi:FuzzParseCall internal/httpapi:FuzzImageString internal/httpapi:FuzzJSONBody \
	internal/imaging:FuzzNormalize internal/acedata:FuzzAnswer internal/uploads:FuzzRecord internal/auth:FuzzAuthorization internal/protocols:FuzzProtocols
FUZZTIME ?= 30s

# Every target runs even when one fails. A failing input that go test writes under testdata/fuzz
# is moved to tmp/fuzz/ (so the tree and make test stay clean) and printed with the command that
# replays it; to keep it as a regression seed, copy it back under a name that says what it is.
fuzz: ## run each fuzz target for FUZZTIME (default 30s); failures are shown whole and kept in tmp/fuzz/
	@failed=""; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn (./$$pkg, $(FUZZTIME))"; \
		if ! $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg > tmp.fuzz.log 2>&1; then \
			grep -v '^fuzz: elapsed: [0-9]*s, \(gathering\|execs\)' tmp.fuzz.log; failed="$$failed $$fn"; \
			for c in $$(git ls-files --others --exclude-standard $$pkg/testdata/fuzz/$$fn); do \
				mkdir -p tmp/fuzz/$$fn && mv $$c tmp/fuzz/$$fn/ && \
				echo "   kept as tmp/fuzz/$$fn/$${c##*/}; replay: cp tmp/fuzz/$$fn/$${c##*/} $$pkg/testdata/fuzz/$$fn/ && go test -run '$$fn/$${c##*/}' ./$$pkg"; \
			done; \
		else tail -2 tmp.fuzz.log; fi; \
	done; rm -f tmp.fuzz.log; \
	if [ -n "$$failed" ]; then echo "make fuzz: failed:$$failed"; exit 1; fi

# Packages tested at once. The end-to-end packages mostly wait (on deadlines, retries and
# servers), so more than the CPU count keeps both cores busy. functions/api, the longest, is
# named first so that it starts first.
TEST_PACKAGES ?= 4
test: fmt-check vet ## the whole suite: unit, handler and end-to-end tests (needs moto_server; chromium for the browser test), with the race detector
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || echo "make test: the playground's browser test will be SKIPPED: chromium or chromedriver is not installed (apt-get install chromium chromium-driver; .ci/run installs them)"
	@$(GO) build -o bin/testprogress ./cmd/testprogress
	@set -o pipefail; $(GO) test -json -race -count=1 -p $(TEST_PACKAGES) -tags e2e ./functions/api ./... | bin/testprogress

# End-to-end tests (the real bootstrap, moto_server, Chromium, Node clients) carry the build tag
# e2e, so a plain `go test ./...` needs no service and no network.
test-fast: ## unit and handler tests only: no moto, no Chromium, no network
	$(GO) test -count=1 ./...

# Pixels differ from run to run (font hinting, timing), so the picture goes to tmp/ unless asked:
# make screenshot SCREENSHOT=docs/playground.png updates the README's picture on purpose.
SCREENSHOT ?= tmp/playground.png
screenshot: ## the playground in headless Chromium (chromium, chromium-driver), saved to SCREENSHOT (default tmp/playground.png)
	@mkdir -p $(dir $(SCREENSHOT))
	$(GO) test -tags e2e -count=1 -run TestPlaygroundInBrowser ./cmd/local/playground -args -screenshot=$(abspath $(SCREENSHOT))

lint: vet staticcheck funcsize template-check ## go vet, staticcheck, function size and complexity, cfn-lint and the SAM transform

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

vet:
	$(GO) vet -tags e2e ./...

funcsize: ## each function's cyclomatic complexity (the most complex listed); fails on one over 80 lines
	$(GO) run ./cmd/funcsize -max 80

staticcheck:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck -tags e2e ./...

template-check: ## cfn-lint and an offline SAM transform of template.yaml
	cfn-lint template.yaml
	python3 .ci/sam-expand.py template.yaml
	python3 .ci/template-policy.py template.yaml
	python3 .ci/template-policy-test.py template.yaml

build: ## compile every package and command for this machine
	$(GO) build ./...

build-lambda: ## bootstrap binaries for Lambda (linux/arm64) in bin/<function>/
	$(LAMBDA_BUILD) -o bin/api/bootstrap ./functions/api
	$(LAMBDA_BUILD) -o bin/s3event/bootstrap ./functions/s3event

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-S3EventFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/s3event

clean:
	rm -rf bin tmp .aws-sam

# Mutation testing: each mutation of internal/devtools/mutants/list.go is compiled through
# `go test -overlay` (the tree is never written) and judged by its package's fast tests.
# MUTANTS=regexp picks some by id (MUTANTS=uploads/); MUTANTS_JOBS is how many run at once:
# one go test links while another runs its tests.
MUTANTS ?=
MUTANTS_JOBS ?= 2
.PHONY: mutants
mutants: ## break the code on purpose and report which listed mutations the fast tests miss, with the kill rate
	$(GO) run ./internal/devtools/mutants -j $(MUTANTS_JOBS) $(if $(MUTANTS),-run '$(MUTANTS)')

# The published client libraries compat/ drives, exactly as package-lock.json pins them. The
# stamp (the lockfile's SHA-256) tells compat's end-to-end tests, which run npm ci themselves
# when it is stale, that this install is current.
.PHONY: compat-deps
compat-deps: ## install compat/'s pinned npm client libraries (npm ci; needs node and npm)
	@command -v npm >/dev/null || { echo "make compat-deps: npm is not installed: the client compatibility tests need Node.js 18+ with npm"; exit 1; }
	cd compat && npm ci --no-audit --no-fund --prefer-offline && sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.lockfile-sha256

# Lambda Managed Instances: a second template, template.yaml with both functions on a capacity
# provider (.ci/managed-instances.py says why it is not a parameter). make template-check checks it.
template-managed: ## write template-managed.json, the managed-instances variant: sam build -t template-managed.json
	python3 .ci/managed-instances.py template.yaml template-managed.json

bench-managed: ## only the managed-instances section of make bench (requests in flight in one process), printed
	$(GO) run ./cmd/bench -managed
