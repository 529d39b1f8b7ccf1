"""Writes the bad-input corpus in tests/fixtures/bad/ (small ONNX models and zips that
Downstream must refuse with a clear message). Deterministic; run from the repo root:

    python3 tools/make_bad_inputs.py

The expected messages live in tests/fixtures/bad/expected.json, kept by hand.
"""
import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path("tests/fixtures/bad")
DEMO_ZIP = Path("assets/demo/digits.zip")


def save(model, name):
    onnx.checker.check_model(model)
    (OUT / name).write_bytes(model.SerializeToString())


def graph_model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream-tests")
    m.ir_version = 8
    return m


def image_input(name="image"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 1, 28, 28])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    flat = helper.make_node("Flatten", ["image"], ["embedding"], axis=1)
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 784])
    # Two inputs.
    add = helper.make_node("Add", ["image", "other"], ["sum"])
    flat2 = helper.make_node("Flatten", ["sum"], ["embedding"], axis=1)
    save(graph_model([add, flat2], [image_input(), image_input("other")], [out]), "two_inputs.onnx")
    # Integer token input: not an image.
    tok = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", 16])
    cast = helper.make_node("Cast", ["input_ids"], ["embedding"], to=TensorProto.FLOAT)
    out16 = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 16])
    save(graph_model([cast], [tok], [out16]), "int_input.onnx")
    # Float input of rank 5.
    vol = helper.make_tensor_value_info("volume", TensorProto.FLOAT, ["N", 1, 8, 8, 8])
    flat5 = helper.make_node("Flatten", ["volume"], ["embedding"], axis=1)
    out512 = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 512])
    save(graph_model([flat5], [vol], [out512]), "rank5_input.onnx")
    # NaN embeddings: log(-1 - x) is NaN for every pixel in [0, 1].
    one = numpy_helper.from_array(np.array(-1.0, dtype=np.float32), "minus_one")
    neg = helper.make_node("Sub", ["minus_one", "image"], ["neg"])
    log = helper.make_node("Log", ["neg"], ["logs"])
    flat3 = helper.make_node("Flatten", ["logs"], ["embedding"], axis=1)
    save(graph_model([neg, log, flat3], [image_input()], [out], [one]), "nan_output.onnx")
    # A valid model cut in half.
    good = (OUT / "two_inputs.onnx").read_bytes()
    (OUT / "truncated.onnx").write_bytes(good[: len(good) // 2])
    (OUT / "random.onnx").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    demo = zipfile.ZipFile(DEMO_ZIP)
    png = demo.read("0/000.png")

    def write_zip(name, entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path, data in entries:
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        (OUT / name).write_bytes(buf.getvalue())

    write_zip("one_class.zip", [(f"only/{i}.png", png) for i in range(3)])
    write_zip("no_images.zip", [("a/readme.txt", b"hello"), ("b/notes.csv", b"1,2")])
    write_zip("bad_image.zip", [("a/ok.png", png), ("b/ok.png", png), ("b/broken.png", png[: len(png) // 2]),
                                ("a/ok2.png", png), ("b/ok3.png", png)])
    write_zip("one_sample_class.zip", [("a/1.png", png), ("a/2.png", png), ("a/3.png", png), ("b/1.png", png)])
    tiny = Path("tests/fixtures/data/tiny.zip").read_bytes()
    (OUT / "truncated.zip").write_bytes(tiny[: len(tiny) // 2])
    (OUT / "not_a_zip.zip").write_bytes(b"this is plain text, not an archive\n" * 4)


if __name__ == "__main__":
    main()
