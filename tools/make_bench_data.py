"""Inputs for `make bench` (not committed; written to target/bench/). Deterministic.

- cnn.onnx: a 4-conv CNN encoder (28x28x1 -> 128-d), random He-initialised weights (speed
  only depends on shapes), input `image` [N, 1, 28, 28], output `embedding` [N, 128].
- digits.f32: the 1,000 demo digits decoded from assets/demo/digits.zip, /255, float32
  [1000, 1, 28, 28] raw little-endian.
- logreg_x.f32 / logreg_y.u8: 10,000 x 384 float32 features in 10 Gaussian classes (a
  stand-in for MiniLM embeddings of the same shape), labels as bytes. Rows 0..8000 train,
  8000..10000 test.
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

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench")


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


def main():
    OUT.mkdir(parents=True, exist_ok=True)
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
