#!/usr/bin/env python3
"""Marks which ONNX operators the page's image build of tract-onnx registers (issue 6).

Run once on a freshly vendored tract-onnx (vendor/tract-onnx = crates.io package plus the
older parts of PATCH.diff); its output is part of vendor/tract-onnx/PATCH.diff, which
tools/vendor_tract_onnx.sh applies and checks. Every `reg.insert("Op", …)` whose operator is
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

# Operators of common image encoders (MLPs, CNNs such as EfficientNet-Lite, MobileNet,
# ResNet) and scikit-learn-free heads. Measured: 1,981,950 gzip bytes for the image build
# with this list and no tokenizer, against 2,248,326 with every operator.
PAGE_IMAGE_OPS = set("""
Add Sub Mul Div Pow Sqrt Erf Exp Log Tanh Sigmoid Relu LeakyRelu Clip HardSigmoid HardSwish
Softmax LogSoftmax MatMul Gemm Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool
BatchNormalization LayerNormalization InstanceNormalization Flatten Reshape Transpose Squeeze
Unsqueeze Concat Split Slice Gather Shape Constant ConstantOfShape Cast Identity Expand Where
Equal Less Greater Not ReduceMean ReduceSum ReduceMax Pad Dropout Range Neg Abs Min Max
Reciprocal Elu Selu Softplus Mish Gelu
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
                text = text.replace(line, f"    {CFG}\n{line}", 1)
        path.write_text(text)
    lib = src / "lib.rs"
    text = lib.read_text()
    quiet = '#![cfg_attr(all(target_arch = "wasm32", not(feature = "page-all-ops")), allow(dead_code, unused_imports))]\n'
    lib.write_text(quiet + text)
    manifest = root / "Cargo.toml"
    text = manifest.read_text()
    text = text.replace('[features]\n', '[features]\npage-all-ops = []\n', 1)
    manifest.write_text(text)
    print(f"vendor_page_ops: {len(left)} operators left to the full build: {' '.join(sorted(left))}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vendor/tract-onnx"))
