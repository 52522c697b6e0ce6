# The two commands of the README: `make dev` and `make test`. Both install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rust-auth-api
VENV := $(CACHE_DIR)/venv
# The stamp names the requirements' hash, so editing requirements-dev.txt reinstalls.
VENV_STAMP := $(VENV)/.installed-$(shell cksum < requirements-dev.txt | cut -d' ' -f1)
PYTHON ?= python3

export PATH := $(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export CARGO_TERM_COLOR ?= never

.PHONY: dev test tools lint unit e2e template sam-build fmt clean check-cache fuzz-api fuzz bench bench-smoke \
	invoke arm64-smoke rotate mail

## dev: the API on http://127.0.0.1:9000, DynamoDB (moto) on :8000, Redis on :6380
dev: tools
	scripts/dev.sh

## test: everything CI runs
test: tools lint unit bench-smoke template arm64-smoke e2e

SAM_BUILD_DIR := $(CACHE_DIR)/sam-build

## invoke: one function in a Lambda container (sam local invoke) with one of events/,
## against a running `make dev`: make invoke FN=me EVENT=events/me.json
invoke: tools sam-build
	@[ -n "$(FN)" ] && [ -n "$(EVENT)" ] || { echo "usage: make invoke FN=signup|signin|me|signout|validate|refresh|sessions|discovery|example|email|mailer|password|account EVENT=events/<fixture>.json"; exit 2; }
	SAM_BUILD_DIR=$(SAM_BUILD_DIR) scripts/invoke.sh "$(FN)" "$(EVENT)"

## rotate: rotate a running `make dev`'s signing key set now, as the deployed schedule does
rotate: tools
	$(VENV)/bin/python scripts/rotate_keys.py

## mail: the latest messages a running `make dev` sent (moto's SES): the codes to type
mail: tools
	$(VENV)/bin/python scripts/mail.py

tools: $(VENV_STAMP) $(CACHE_DIR)/.rust-targets
	@scripts/ensure_redis.sh

$(VENV_STAMP): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is required ($(PYTHON) not found)"; exit 1; }
	@echo "[tools] installing pinned tools into $(VENV) (first run only)"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# sam build cross-compiles the functions for arm64 (Graviton).
$(CACHE_DIR)/.rust-targets:
	rustup target add aarch64-unknown-linux-gnu
	rustup component add rustfmt clippy
	mkdir -p $(CACHE_DIR) && touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

unit:
	cargo test --workspace

# End-to-end through `make dev`'s own stack (moto_server + cargo lambda watch) on free ports,
# and every fixture through `sam local invoke` (tests/test_sam_invoke.py; needs Docker).
e2e: sam-build
	@scripts/ensure_arm64.sh
	SAM_BUILD_DIR=$(SAM_BUILD_DIR) $(VENV)/bin/python -m pytest -q tests

## bench: cold start, warm latency, CPU per request (per process and in-process), peak RSS and
## arm64 sizes of every function against a hello-world floor; writes bench/results.md and .svg
BENCH_FRESH ?= 50
BENCH_WARM ?= 1000
LAMBDA_BINS := -p signup -p signin -p me -p signout -p validate -p refresh -p sessions -p discovery -p example -p rotate-keys -p email -p mailer -p password -p account
bench: tools
	cargo lambda build --release --arm64 --output-format zip $(LAMBDA_BINS)
	cargo lambda build --release --arm64 --output-format zip -p bench --bin hello
	cargo bench -p bench --bench cpu
	cargo build --release -p bench $(LAMBDA_BINS)
	target/release/bench --profile release --fresh $(BENCH_FRESH) --warm $(BENCH_WARM) --write bench

# make test runs the harness once with tiny counts on the debug builds, and every CPU
# benchmark once (criterion's test mode), so neither can rot.
bench-smoke:
	cargo test --quiet -p bench --bench cpu
	cargo build --quiet -p bench $(LAMBDA_BINS)
	target/debug/bench --profile debug --fresh 2 --warm 20

## fuzz-api: a longer schemathesis run than make test's, with a fresh seed (SCHEMA_SEED to pin)
fuzz-api: tools
	SCHEMA_SEED=$${SCHEMA_SEED:-$$RANDOM} SCHEMA_EXAMPLES=$${SCHEMA_EXAMPLES:-1000} \
	SCHEMA_MIN_CASES=$${SCHEMA_MIN_CASES:-5000} \
	$(VENV)/bin/python -m pytest -q -s tests/test_schema.py

## fuzz: coverage-guided fuzzing (cargo fuzz / libFuzzer) of body parsing, token
## verification and the key documents, FUZZ_SECONDS per target; a crash lands in fuzz/artifacts/<target>/.
# cargo fuzz passes -Z flags (sanitizers): RUSTC_BOOTSTRAP lets the stable toolchain take them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := parse_request verify_token key_documents
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$target; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz $$target fuzz/corpus/$$target \
	    fuzz/regressions/$$target -- -max_total_time=$(FUZZ_SECONDS); \
	done

# The arm64 bootstraps `sam build` made, each under qemu-user against the loopback Runtime API
# and real back-ends: init and three invocations whose answers are checked.
arm64-smoke: sam-build
	@scripts/ensure_arm64.sh
	cargo build --quiet -p bench
	target/debug/bench --arm64 $(SAM_BUILD_DIR) --warm 2

template: sam-build
	cfn-lint template.yaml
	sam validate --lint

sam-build:
	sam build --build-dir $(SAM_BUILD_DIR)
	scripts/check_bootstraps.sh $(SAM_BUILD_DIR)

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf .aws-sam .dev

## check-cache: ask the ElastiCache control plane whether the deployed cache is available
check-cache:
	@[ -n "$(CACHE_NAME)" ] || { echo "usage: make check-cache CACHE_NAME=<the stack's CacheName output>"; exit 2; }
	cargo run --quiet --release -p cache-check -- "$(CACHE_NAME)"
