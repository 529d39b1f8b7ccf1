#!/usr/bin/env python3
"""A small CNN with the max pools src/pool.rs swaps and one it leaves, and onnxruntime's
embeddings of it.

    python3 tools/make_pool_fixture.py

Writes into tests/fixtures/pool/:
  cnn_pools.onnx  image [N, 1, 28, 28] -> 4 x (Conv 3x3 pad 1 + Relu), each followed by a
                  MaxPool: 2x2 stride 2 (28 -> 14), 2x2 stride 2 (14 -> 7), 2x2 stride 2
                  with pads [0, 0, 1, 1] (7 -> 4), and 3x3 stride 1 (4 -> 2, not a 2x2 pool)
                  -> GlobalAveragePool -> Flatten -> embedding [N, 16]. Random He weights.
  cnn_pools_input.npy   [5, 784] float32: random values in [-1, 2)
  cnn_pools_output.npy  [5, 16] float32: onnxruntime's embeddings of them
Needs numpy, onnx, onnxruntime (tools/requirements.txt). Deterministic (seed 6).
"""
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = Path("tests/fixtures/pool")


def model(rng):
    inits, nodes = [], []
    chans = [1, 8, 16, 16, 16]
    pools = [
        dict(kernel_shape=[2, 2], strides=[2, 2]),
        dict(kernel_shape=[2, 2], strides=[2, 2]),
        dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        dict(kernel_shape=[3, 3], strides=[1, 1]),
    ]
    x = "image"
    for i in range(4):
        w = rng.normal(0, np.sqrt(2 / (chans[i] * 9)), (chans[i + 1], chans[i], 3, 3)).astype(np.float32)
        b = rng.normal(0, 0.1, chans[i + 1]).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        nodes.append(helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], **pools[i]))
        x = f"p{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["embedding"], axis=1))
    g = helper.make_graph(
        nodes, "cnn_pools",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    rng = np.random.default_rng(6)
    OUT.mkdir(parents=True, exist_ok=True)
    m = model(rng)
    onnx.save(m, OUT / "cnn_pools.onnx")
    x = rng.uniform(-1, 2, (5, 784)).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"image": x.reshape(5, 1, 28, 28)})
    assert y.shape == (5, 16)
    np.save(OUT / "cnn_pools_input.npy", x)
    np.save(OUT / "cnn_pools_output.npy", y.astype(np.float32))


if __name__ == "__main__":
    main()
