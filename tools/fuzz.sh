#!/usr/bin/env bash
# Runs every fuzz target (fuzz/) for FUZZ_SECONDS each (default 60), seeded from the
# committed fixtures and the regression corpus. Not part of CI: `make fuzz`.
#
#   FUZZ_SECONDS=30 tools/fuzz.sh                 # all targets, 30 s each
#   FUZZ_TARGETS="npy_read zip_dataset" tools/fuzz.sh
#
# cargo-fuzz needs nightly flags; on stable it runs with RUSTC_BOOTSTRAP=1 and no
# sanitizer (-s none); -a keeps debug assertions and overflow checks, like `cargo test`.
# A crash stops that target; its input lands in fuzz/artifacts/<target>/. Copy it to
# tests/fixtures/fuzz-regressions/<target>/ once fixed (tests/fuzz_regressions.rs replays them).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-onnx_load npy_read zip_dataset image_preprocess report_json text_data embeddings_file onnx_head}"
export RUSTC_BOOTSTRAP=1
FLAGS=(-s none -a)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Seeds: copies of committed fixtures (the corpus folders are not committed).
seed() { # target file [prefix byte as octal escape]
  local dir="fuzz/corpus/$1" out
  mkdir -p "$dir"
  out="$dir/seed-$(basename "$2")${3:+-$3}"
  if [ -n "${3:-}" ]; then { printf "\\$3"; cat "$2"; } >"$out"; else cp "$2" "$out"; fi
}
images="$(mktemp -d)"
trap 'rm -rf "$images"' EXIT
python3 - "$images" <<'PY'
import sys, zipfile
out = sys.argv[1]
for z in ("tests/fixtures/data/tiny.zip", "tests/fixtures/bad/bad_image.zip", "tests/fixtures/bad/huge_dimensions.zip"):
    with zipfile.ZipFile(z) as f:
        for i, n in enumerate(f.namelist()[:6]):
            open(f"{out}/{z.split('/')[-1]}-{i}-{n.split('/')[-1]}", "wb").write(f.read(n))
PY
for f in assets/demo/encoder.onnx tests/fixtures/bad/*.onnx; do seed onnx_load "$f"; done
for f in tests/fixtures/head/*.onnx; do seed onnx_head "$f"; done
for f in tests/fixtures/golden/*.npy tests/fixtures/probe/*.npy tests/fixtures/bad/*.npy; do seed npy_read "$f"; done
for f in tests/fixtures/data/tiny.zip tests/fixtures/bad/*.zip; do seed zip_dataset "$f"; done
# image_preprocess: 0330 = side 28, NCHW, grayscale; 0334 = side 28, NCHW, RGB.
for f in "$images"/* tests/fixtures/golden/*.png; do seed image_preprocess "$f" 330; seed image_preprocess "$f" 334; done
for f in target/e2e/*.json tests/fixtures/probe/digits_logreg.json; do [ -f "$f" ] && seed report_json "$f"; done
# text_data: 000 = CSV, 001 = JSONL, 002 = by name and content.
for f in assets/text-demo/*.csv tests/fixtures/bad/*.csv; do head -c 4096 "$f" >"$images/$(basename "$f")"; seed text_data "$images/$(basename "$f")" 000; done
printf '\001{"text": "hi", "label": "a"}\n{"text": "yo", "label": 2}\n' >"fuzz/corpus/text_data/seed-jsonl"
# embeddings_file: 000 = .npz, 001 = .csv; with a labels file (second byte its length, then
# the labels): 002 = .npy + text labels, 006 = .npy + .npy labels, 003 = .npz + text labels.
for f in tests/fixtures/embeddings/*.npz tests/fixtures/bad/emb_*.npz; do seed embeddings_file "$f" 000; done
for f in tests/fixtures/embeddings/iris_test.csv tests/fixtures/bad/emb_*.csv; do seed embeddings_file "$f" 001; done
python3 - fuzz/corpus/embeddings_file <<'PY'
import io, sys
import numpy as np
x = np.load("tests/fixtures/embeddings/iris_X.npy")[:6]
words = "setosa setosa versicolor virginica versicolor setosa".split()
def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()
for sel, labels in ((2, "\n".join(words).encode()), (6, npy(np.array([0, 0, 1, 2, 1, 0]))), (3, b"a\nb\n")):
    body = npy(x) if sel != 3 else open("tests/fixtures/bad/emb_no_y.npz", "rb").read()
    if len(labels) < 256:
        open(f"{sys.argv[1]}/seed-labels-{sel}", "wb").write(bytes([sel, len(labels)]) + labels + body)
PY

cargo fuzz build "${FLAGS[@]}"
failed=()
for t in $TARGETS; do
  echo "== $t: ${SECONDS_EACH}s"
  extra=()
  [ -d "tests/fixtures/fuzz-regressions/$t" ] && extra+=("tests/fixtures/fuzz-regressions/$t")
  if ! cargo fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus/$t" "${extra[@]}" -- \
      -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1; then
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs in fuzz/artifacts/" >&2
  exit 1
fi
echo "fuzz: ${TARGETS// /, }: no crash in ${SECONDS_EACH}s each"
