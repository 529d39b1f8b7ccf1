#!/usr/bin/env python3
"""Marks which ONNX operators the page's image build of tract-onnx registers (issue 6).

Run on vendor/tract-onnx (idempotent: with a shorter list it marks only what is new),
then make PATCH.diff again as `diff -ruN` of the crates.io package and the vendored copy
(without PATCH.diff/PATCH.md); tools/vendor_tract_onnx.sh applies and checks that diff. Every `reg.insert("Op", …)` whose operator is
not in PAGE_IMAGE_OPS, and the families below, get
`#[cfg(any(not(target_arch = "wasm32"), feature = "page-all-ops"))]`: natively nothing
changes; in wasm the image build (no `page-all-ops`) registers only these operators, so
the code behind the others is not linked, and the full build (Downstream's default
features turn `page-all-ops` on) registers them all. The page loads the full build when
a model needs an operator the image build lacks (www/engine.js).

    python3 tools/vendor_page_ops.py vendor/tract-onnx
"""
import re
import sys
from pathlib import Path

# Operators of MLP and CNN image encoders (EfficientNet-Lite, MobileNet, ResNet) and of
# heads without ai.onnx.ml. Transformer-style graphs (Erf, LayerNormalization, Where,
# Equal, Expand, Range, ConstantOfShape, ...) go to the full build: such models are tens of
# MB, so its extra 0.9 MB matters little there. Measured (gzip -9, no tokenizer): every
# operator 2,248,326; a 64-operator list with those 1,981,530; this list (51)
# 1,956,811.
PAGE_IMAGE_OPS = set("""
Add Sub Mul Div Pow Sqrt Exp Log Tanh Sigmoid Relu LeakyRelu Clip HardSigmoid HardSwish
Softmax LogSoftmax MatMul Gemm Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool
BatchNormalization Flatten Reshape Transpose Squeeze Unsqueeze Concat Split Slice Gather Shape
Constant Cast Identity ReduceMean ReduceSum ReduceMax Pad Dropout Neg Abs Min Max Reciprocal
Elu Selu Softplus
""".split())

# Whole families left to the full build (registered from src/ops/mod.rs).
FULL_ONLY_FAMILIES = ["cumsum", "d2s", "ml", "quant", "s2d"]

CFG = '#[cfg(any(not(target_arch = "wasm32"), feature = "page-all-ops"))]'
FILES = ["ops/mod.rs", "ops/array/mod.rs", "ops/nn/mod.rs", "ops/math.rs", "ops/logic.rs", "ops/cast.rs"]


def main(root: Path) -> None:
    src = root / "src"
    left = []
    for name in FILES:
        path = src / name
        text = path.read_text()
        hits = [
            (m.start(), m.group(1), m.group(2))
            for m in re.finditer(r'^([ \t]*)reg\.insert\(\s*"([A-Za-z0-9_]+)"', text, re.M)
            if m.group(2) not in PAGE_IMAGE_OPS
        ]
        for pos, indent, op in reversed(hits):
            before = text[:pos].rstrip().splitlines()[-1].strip() if text[:pos].strip() else ""
            if before.startswith("#[cfg("):
                continue  # already out of every wasm build (fft, rec, random, …)
            text = text[:pos] + indent + CFG + "\n" + text[pos:]
            left.append(op)
        if name == "ops/mod.rs":
            for family in FULL_ONLY_FAMILIES:
                line = f"    {family}::register_all_ops(reg);\n"
                if line not in text:
                    sys.exit(f"vendor_page_ops: {line.strip()} not found in {path}")
                if f"    {CFG}\n{line}" not in text:
                    text = text.replace(line, f"    {CFG}\n{line}", 1)
        path.write_text(text)
    # Idempotent: run again with a shorter list, it marks only what is new.
    lib = src / "lib.rs"
    text = lib.read_text()
    quiet = '#![cfg_attr(all(target_arch = "wasm32", not(feature = "page-all-ops")), allow(dead_code, unused_imports))]\n'
    if quiet not in text:
        lib.write_text(quiet + text)
    manifest = root / "Cargo.toml"
    text = manifest.read_text()
    if "page-all-ops = []" not in text:
        manifest.write_text(text.replace('[features]\n', '[features]\npage-all-ops = []\n', 1))
    print(f"vendor_page_ops: {len(left)} operators left to the full build: {' '.join(sorted(left))}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vendor/tract-onnx"))
