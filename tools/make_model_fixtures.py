#!/usr/bin/env python3
"""Tiny ONNX models and onnxruntime reference values for the model options and checks.

    python3 tools/make_model_fixtures.py

Writes into tests/fixtures/models/ (each file a few KB):
  two_outputs.onnx       input `x` [N, 3, 8, 8]; outputs `pooled` [N, 4] (first) and
                         `features` [N, 4, 4, 4] (rank 4); with two_outputs_input.npy
                         [3, 3, 8, 8] and onnxruntime's outputs for it:
                         two_outputs_pooled.npy, two_outputs_features.npy, and the
                         embeddings each pooling makes of `features` (numpy on
                         onnxruntime's output, float64 mean): two_outputs_features_{flatten,mean,cls}.npy
  contrib_ops.onnx       com.microsoft FusedMatMul and Attention (onnxruntime contrib ops)
  quantised.onnx         QuantizeLinear / DequantizeLinear around a MatMul with int8
                         weights (standard ops: tract runs it)
  quantised_contrib.onnx a com.microsoft QLinearSigmoid (quantised and not runnable)
  zero_dim.onnx          input `image` [N, 3, 0, 32]
  lstm.onnx              x [N, 16] -> Unsqueeze -> LSTM (hidden 4, one step) -> Squeeze -> y [N, 4]:
                         a standard op left out of the page build (tools/vendor_tract_onnx.sh),
                         run by the CLI; lstm_input.npy [3, 16] and onnxruntime's lstm_output.npy
  full_only.onnx         x [N, 1, 28, 28] -> Flatten -> MatMul [784, 8] -> Sin -> y [N, 8]: Sin is
                         not in the page's image build (tools/vendor_page_ops.py), so the page
                         loads its full build for it; full_only_reference.npy holds
                         onnxruntime's embeddings of the first 16 items of assets/demo/digits.zip
                         (as demo_reference.npy)
  demo_reference.npy     the demo encoder's embeddings (onnxruntime) of the first 16 items
                         of assets/demo/digits.zip in data-set order (paths sorted), PNG / 255
  demo_reference_bad.npy the same with one column less (a wrong-shape reference)
The expected messages of the refused models are in tests/fixtures/bad/expected.json.
Needs numpy, onnx, onnxruntime, pillow (tools/requirements.txt).
"""

import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "models"
PRODUCER = "downstream tools/make_model_fixtures.py"


def save(model, name, check=True):
    model.producer_name = PRODUCER
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, str(OUT / name))


def ort_session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def two_outputs(rng):
    w = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv"),
        helper.make_node("Relu", ["conv"], ["features"], name="relu"),
        helper.make_node("GlobalAveragePool", ["features"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["pooled"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes, "two_outputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["N", 4]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4, 4, 4])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, "two_outputs.onnx")
    x = rng.random((3, 3, 8, 8), dtype=np.float32)
    pooled, features = ort_session(OUT / "two_outputs.onnx").run(["pooled", "features"], {"x": x})
    np.save(OUT / "two_outputs_input.npy", x)
    np.save(OUT / "two_outputs_pooled.npy", pooled)
    np.save(OUT / "two_outputs_features.npy", features)
    f64 = features.astype(np.float64)
    np.save(OUT / "two_outputs_features_flatten.npy", features.reshape(3, -1))
    np.save(OUT / "two_outputs_features_mean.npy", f64.mean(axis=(2, 3)).astype(np.float32))
    np.save(OUT / "two_outputs_features_cls.npy", features[:, :, 0, 0].copy())


def flat_graph(nodes, name, inits=(), extra_opsets=(), dim=16, out_dim=4):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", out_dim])],
        list(inits),
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)] + [helper.make_opsetid(d, v) for d, v in extra_opsets])
    model.ir_version = 8
    return model


def contrib_ops(rng):
    w = numpy_helper.from_array(rng.normal(size=(16, 16)).astype(np.float32), "w")
    nodes = [
        helper.make_node("FusedMatMul", ["x", "w"], ["h"], domain="com.microsoft", name="fused_matmul_0", alpha=1.0),
        helper.make_node("Unsqueeze", ["h", "axes"], ["h3"], name="unsqueeze"),
        helper.make_node("Attention", ["h3", "qkv_w", "qkv_b"], ["att"], domain="com.microsoft", name="attention_0", num_heads=1),
        helper.make_node("ReduceMean", ["att"], ["y"], axes=[1], keepdims=0, name="mean"),
    ]
    inits = [w, numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
             numpy_helper.from_array(rng.normal(size=(16, 12)).astype(np.float32), "qkv_w"),
             numpy_helper.from_array(np.zeros(12, dtype=np.float32), "qkv_b")]
    model = flat_graph(nodes, "contrib_ops", inits, [("com.microsoft", 1)])
    save(model, "contrib_ops.onnx", check=False)


def quantised(rng):
    w = rng.integers(-127, 128, (16, 4), dtype=np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["xq"], name="quantize_x"),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zero"], ["xd"], name="dequantize_x"),
        helper.make_node("DequantizeLinear", ["wq", "w_scale", "w_zero"], ["wd"], name="dequantize_w"),
        helper.make_node("MatMul", ["xd", "wd"], ["y"], name="matmul"),
    ]
    inits = [
        numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "x_scale"),
        numpy_helper.from_array(np.array(0, dtype=np.uint8), "x_zero"),
        numpy_helper.from_array(w, "wq"),
        numpy_helper.from_array(np.array(0.01, dtype=np.float32), "w_scale"),
        numpy_helper.from_array(np.array(0, dtype=np.int8), "w_zero"),
    ]
    save(flat_graph(nodes, "quantised", inits), "quantised.onnx")


def quantised_contrib():
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="quantize_x"),
        helper.make_node("QLinearSigmoid", ["xq", "s", "z", "s", "z"], ["yq"], domain="com.microsoft", name="qsigmoid_0"),
        helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["y"], name="dequantize_y"),
    ]
    inits = [numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "s"),
             numpy_helper.from_array(np.array(0, dtype=np.uint8), "z")]
    model = flat_graph(nodes, "quantised_contrib", inits, [("com.microsoft", 1)], out_dim=16)
    save(model, "quantised_contrib.onnx", check=False)


def lstm():
    """An LSTM, which the command line runs and the page build leaves out (no rng: the
    other fixtures keep their random values)."""
    g = np.random.default_rng(11)
    w = g.normal(0, 0.4, (1, 16, 16)).astype(np.float32)  # [dirs, 4*hidden, input]
    r = g.normal(0, 0.4, (1, 16, 4)).astype(np.float32)  # [dirs, 4*hidden, hidden]
    b = g.normal(0, 0.1, (1, 32)).astype(np.float32)
    axes = np.array([0], dtype=np.int64)
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axes"], ["seq"], name="to_sequence"),
        helper.make_node("LSTM", ["seq", "w", "r", "b"], ["", "h"], hidden_size=4, name="lstm_0"),
        helper.make_node("Squeeze", ["h", "axes"], ["y"], name="last_state"),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in [(w, "w"), (r, "r"), (b, "b"), (axes, "axes")]]
    save(flat_graph(nodes, "lstm", inits), "lstm.onnx")
    x = g.random((3, 16), dtype=np.float32)
    (y,) = ort_session(OUT / "lstm.onnx").run(["y"], {"x": x})
    np.save(OUT / "lstm_input.npy", x)
    np.save(OUT / "lstm_output.npy", y)


def zero_dim():
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["y"], name="id")], "zero_dim",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 0, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 0, 32])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, "zero_dim.onnx", check=False)


def full_only(n=16):
    """A digits encoder with an operator (Sin) only the page's full build registers (own
    rng: the other fixtures keep their random values)."""
    g = np.random.default_rng(23)
    w = g.normal(0, 0.05, (784, 8)).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "w"], ["proj"], name="project"),
        helper.make_node("Sin", ["proj"], ["y"], name="sin_0"),
    ]
    graph = helper.make_graph(
        nodes, "full_only",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, "full_only.onnx")
    np.save(OUT / "full_only_reference.npy", ort_embeddings(OUT / "full_only.onnx", n))


def digits_input(n):
    from PIL import Image

    with zipfile.ZipFile(ROOT / "assets" / "demo" / "digits.zip") as z:
        names = sorted(n for n in z.namelist() if n.endswith(".png"))[:n]
        x = np.stack([np.asarray(Image.open(io.BytesIO(z.read(p))).convert("L"), dtype=np.float32) / np.float32(255.0)
                      for p in names])[:, None]
    return names, x


def ort_embeddings(path, n):
    """onnxruntime's embeddings of the first `n` digits (data-set order: paths sorted), PNG / 255."""
    _, x = digits_input(n)
    sess = ort_session(path)
    inp = sess.get_inputs()[0]
    return sess.run(None, {inp.name: x})[0].reshape(n, -1).astype(np.float32)


def demo_reference(n=16):
    names, _ = digits_input(n)
    emb = ort_embeddings(ROOT / "assets" / "demo" / "encoder.onnx", n)
    np.save(OUT / "demo_reference.npy", emb)
    np.save(OUT / "demo_reference_bad.npy", emb[:, :-1].copy())
    print(f"demo reference: {names[0]} .. {names[-1]}, shape {emb.shape}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    two_outputs(rng)
    contrib_ops(rng)
    quantised(rng)
    quantised_contrib()
    zero_dim()
    lstm()
    full_only()
    demo_reference()
    for p in sorted(OUT.glob("*")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
