# Everything a developer, CI and `sam build` run. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.6.1
GOBIN := $(shell $(GO) env GOPATH)/bin
# The Lambda build: static (the local base image has no libc either), no RPC shim, stripped,
# reproducible paths. LAMBDA_ARCH is the template's Architecture (arm64, the deployed default, or
# x86_64, which make sam-local builds so that the functions run on this machine's processor).
LAMBDA_ARCH ?= arm64
LAMBDA_GOARCH := $(if $(filter x86_64,$(LAMBDA_ARCH)),amd64,$(LAMBDA_ARCH))
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -trimpath -tags lambda.norpc -ldflags "-s -w"

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
FUZZ_TARGETS := internal/question:FuzzResolve internal/httpapi:FuzzParseCall internal/imaging:FuzzImageString internal/httpapi:FuzzJSONBody \
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
	@command -v npm >/dev/null || { echo "make compat-deps: npm is not installed: the client compatibility tests need Node.js 20 or later with npm"; exit 1; }
	cd compat && npm ci --no-audit --no-fund --prefer-offline && sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.lockfile-sha256

# Lambda Managed Instances: a second template, template.yaml with both functions on a capacity
# provider (.ci/managed-instances.py says why it is not a parameter). make template-check checks it.
template-managed: ## write template-managed.json, the managed-instances variant: sam build -t template-managed.json
	python3 .ci/managed-instances.py template.yaml template-managed.json

bench-managed: ## only the managed-instances section of make bench (requests in flight in one process), printed
	$(GO) run ./cmd/bench -managed

# ==================== The SAM CLI, for real (docs/sam.md)
# The Python tools of requirements-dev.txt (the SAM CLI, moto, cfn-lint, the SAM transform, the
# AWS CLI), Node.js's npm clients of compat/ and Debian's Chromium: everything the tests need.
PIP ?= python3 -m pip
.PHONY: tools sam-local sam-api sam-build sam-invoke-all sam-serve sam-compat sam-compat-run
tools: ## install every tool the tests need: requirements-dev.txt (pip), compat/'s npm clients, chromium (apt, as root)
	$(PIP) install -q --root-user-action=ignore -r requirements-dev.txt
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		echo "make tools: installing Debian's chromium and chromium-driver"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium chromium-driver >/dev/null; }
	@[ "$$(cat compat/node_modules/.lockfile-sha256 2>/dev/null)" = "$$(sha256sum compat/package-lock.json | cut -d' ' -f1)" ] || $(MAKE) --no-print-directory compat-deps

# The functions run locally on this machine's processor (an arm64 bootstrap cannot execute on
# x86_64 without a binfmt handler, which is the host's setting, not the project's); deploys keep
# the template's default, arm64.
SAM_ARCH ?= $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
SAM_PORT ?= 3001
SAM_BASE_IMAGE ?= recognizer/lambda-base:busybox
SAM := python3 .ci/sam.py
SAM_LOCAL_FLAGS := --parameter-overrides Architecture=$(SAM_ARCH) --invoke-image $(SAM_BASE_IMAGE) --skip-pull-image \
	--docker-network host --container-host-interface 127.0.0.1
export SAM_CLI_TELEMETRY := 0

sam-build:
	@python3 .ci/sam-test.py
	@echo "== sam validate --lint"
	$(SAM) validate --lint
	@echo "== sam build (Architecture=$(SAM_ARCH))"
	LAMBDA_ARCH=$(SAM_ARCH) $(SAM) build --parameter-overrides Architecture=$(SAM_ARCH)

sam-local: ## sam validate --lint, sam build, and sam local invoke on every events/*.json fixture, each answer checked (starts a Docker engine if none answers)
	@command -v sam >/dev/null || $(PIP) install -q -r requirements-dev.txt
	BASE_IMAGE=$(SAM_BASE_IMAGE) .ci/engine.sh run -- $(MAKE) --no-print-directory sam-build sam-invoke-all

sam-invoke-all:
	@echo "== sam local invoke, every fixture"
	@$(GO) build -o bin/invoke ./cmd/invoke
	bin/invoke -sam '$(SAM) local invoke $(SAM_LOCAL_FLAGS)'

# The HTTPS function behind the SAM CLI's local API Gateway, on 127.0.0.1:$(SAM_PORT), with the
# provider emulator and a moto behind it (cmd/invoke -serve), until interrupted (Ctrl-C).
sam-api: ## serve sam local start-api on http://127.0.0.1:$(SAM_PORT) (default 3001) with the emulator and moto behind it, until stopped
	@command -v sam >/dev/null || $(PIP) install -q -r requirements-dev.txt
	BASE_IMAGE=$(SAM_BASE_IMAGE) .ci/engine.sh run -- $(MAKE) --no-print-directory sam-build sam-serve

sam-serve:
	@echo "== sam local start-api on http://127.0.0.1:$(SAM_PORT)"
	@$(GO) build -o bin/invoke ./cmd/invoke
	bin/invoke -serve '$(SAM) local start-api --host 127.0.0.1 --port $(SAM_PORT) $(SAM_LOCAL_FLAGS) $(SAM_API_FLAGS)'

# compat/'s pinned npm clients against the SAM CLI's local API Gateway too: make sam-api's server
# in keys mode (the key cmd/invoke puts in its moto), then compat's end-to-end tests with its URL.
sam-compat: ## compat/'s npm solver clients through sam local start-api (and make run, and the bootstrap), keys mode
	@command -v sam >/dev/null || $(PIP) install -q --root-user-action=ignore -r requirements-dev.txt
	BASE_IMAGE=$(SAM_BASE_IMAGE) .ci/engine.sh run -- $(MAKE) --no-print-directory sam-build sam-compat-run

sam-compat-run:
	@$(GO) build -o bin/invoke ./cmd/invoke
	@mkdir -p tmp; set -e; AUTH_MODE=keys bin/invoke -serve '$(SAM) local start-api --host 127.0.0.1 --port $(SAM_PORT) --warm-containers EAGER $(SAM_LOCAL_FLAGS)' > tmp/sam-api.log 2>&1 & pid=$$!; \
	trap 'kill -INT $$pid 2>/dev/null; wait $$pid' EXIT; \
	for i in $$(seq 1 120); do curl -s -o /dev/null http://127.0.0.1:$(SAM_PORT)/ && break; kill -0 $$pid || { cat tmp/sam-api.log; exit 1; }; sleep 1; done; \
	echo "== compat/ against sam local start-api at http://127.0.0.1:$(SAM_PORT)"; \
	COMPAT_SAM_URL=http://127.0.0.1:$(SAM_PORT) COMPAT_SAM_KEY=example-client-key $(GO) test -tags e2e -count=1 ./compat || { tail -50 tmp/sam-api.log; exit 1; }
