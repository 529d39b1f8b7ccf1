"""Inputs for `make bench` (not committed; written to target/bench/). Deterministic.

- cnn.onnx: a 4-conv CNN encoder (28x28x1 -> 128-d), random He-initialised weights (speed
  only depends on shapes), input `image` [N, 1, 28, 28], output `embedding` [N, 128].
- digits.f32: the 1,000 demo digits decoded from assets/demo/digits.zip, /255, float32
  [1000, 1, 28, 28] raw little-endian.
- logreg_x.f32 / logreg_y.u8: 10,000 x 384 float32 features in 10 Gaussian classes (a
  stand-in for MiniLM embeddings of the same shape), labels as bytes. Rows 0..8000 train,
  8000..10000 test.
- digits60k.zip: 60,000 28x28 PNG digits in class folders for the scale run: each of the
  1,000 demo digits shifted by dx in -3..2 and dy in -2..2 pixels (zero fill), and each of
  those mirrored left-right or not (6 x 5 x 2 = 60 variants). Written by `--scale`
  (or when missing); never committed.
"""
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
OUT = Path(ARGS[0] if ARGS else "target/bench")


def cnn(rng):
    inits, nodes = [], []
    chans = [1, 16, 32, 64, 128]
    x = "image"
    for i in range(4):
        w = rng.normal(0, np.sqrt(2 / (chans[i] * 9)), (chans[i + 1], chans[i], 3, 3)).astype(np.float32)
        b = np.zeros(chans[i + 1], np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
        if i < 2:
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"p{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["embedding"], axis=1))
    g = helper.make_graph(
        nodes, "cnn4",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream-bench")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def shifted(img, dx, dy):
    out = np.zeros_like(img)
    h, w = img.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = img[ys, xs]
    return out


def scale_zip(path):
    src = zipfile.ZipFile("assets/demo/digits.zip")
    names = sorted(n for n in src.namelist() if n.endswith(".png"))
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for name in names:
            cls, stem = name.split("/")[0], name.split("/")[-1][:-4]
            img = np.asarray(Image.open(io.BytesIO(src.read(name))).convert("L"))
            v = 0
            for flip in (False, True):
                base = img[:, ::-1] if flip else img
                for dx in range(-3, 3):
                    for dy in range(-2, 3):
                        buf = io.BytesIO()
                        Image.fromarray(np.ascontiguousarray(shifted(base, dx, dy))).save(buf, "PNG", optimize=False)
                        info = zipfile.ZipInfo(f"{cls}/{stem}_{v:02d}.png", (2020, 1, 1, 0, 0, 0))
                        z.writestr(info, buf.getvalue())
                        v += 1
    tmp.replace(path)
    print(f"{path}: {len(names) * 60} images, {path.stat().st_size} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    if "--scale" in sys.argv:
        scale_zip(OUT / "digits60k.zip")
        return
    rng = np.random.default_rng(6)
    (OUT / "cnn.onnx").write_bytes(cnn(rng).SerializeToString())
    z = zipfile.ZipFile("assets/demo/digits.zip")
    names = sorted(n for n in z.namelist() if n.endswith(".png"))
    imgs = np.stack([np.asarray(Image.open(io.BytesIO(z.read(n))).convert("L"), np.float32) / np.float32(255)
                     for n in names])[:, None]
    imgs.astype("<f4").tofile(OUT / "digits.f32")
    k, d, n = 10, 384, 10_000
    means = rng.normal(0, 0.1, (k, d))
    y = np.arange(n) % k
    rng.shuffle(y)
    x = (means[y] + rng.normal(0, 1, (n, d))).astype(np.float32)
    x.astype("<f4").tofile(OUT / "logreg_x.f32")
    y.astype(np.uint8).tofile(OUT / "logreg_y.u8")
    (OUT / "meta.json").write_text(json.dumps({"digits": list(imgs.shape), "logreg": [n, d, k], "train": 8000}))
    print(f"bench data in {OUT}")


if __name__ == "__main__":
    main()
