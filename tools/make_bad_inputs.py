"""Writes the bad-input corpus in tests/fixtures/bad/ (small ONNX models and zips that
Downstream must refuse with a clear message). Deterministic; run from the repo root:

    python3 tools/make_bad_inputs.py

The expected messages live in tests/fixtures/bad/expected.json, kept by hand.
"""
import io
import struct
import zlib
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path("tests/fixtures/bad")
DEMO_ZIP = Path("assets/demo/digits.zip")


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    (OUT / name).write_bytes(model.SerializeToString())


def graph_model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream-tests")
    m.ir_version = 8
    return m


def image_input(name="image"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 1, 28, 28])


def raw_zip(entries):
    """A zip written byte by byte, so names, flags and declared sizes can lie.
    entries: (name bytes, data, utf8 flag, declared uncompressed size or None)."""
    out, central = bytearray(), bytearray()
    for name, data, utf8, declared in entries:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = comp.compress(data) + comp.flush()
        crc = zlib.crc32(data)
        size = len(data) if declared is None else declared
        flags = 0x800 if utf8 else 0
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, 0, 0x21, crc, len(packed), size, len(name), 0)
        out += name + packed
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 8, 0, 0x21, crc, len(packed), size,
                               len(name), 0, 0, 0, 0, 0, offset)
        central += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def png_header_only(width, height):
    """A PNG whose header claims width x height pixels, with almost no pixel data."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def write_npy(name, array):
    buf = io.BytesIO()
    np.save(buf, array)
    (OUT / name).write_bytes(buf.getvalue())


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
    # No inputs at all: the embedding is a constant.
    const = helper.make_node("Constant", [], ["embedding"],
                             value=numpy_helper.from_array(np.zeros((1, 4), dtype=np.float32), "c"))
    out4 = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 4])
    save(graph_model([const], [], [out4]), "zero_inputs.onnx")
    # Dynamic sizes where they matter: a flat input of unknown width, an unknown channel
    # count, an input without a declared rank; and a batch fixed far too large.
    dyn = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "D"])
    flat_x = helper.make_node("Flatten", ["x"], ["embedding"], axis=1)
    save(graph_model([flat_x], [dyn], [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", "D"])]),
         "dynamic_flat.onnx")
    dyn4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C", "H", "W"])
    save(graph_model([flat_x], [dyn4], [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", "F"])]),
         "dynamic_channels.onnx")
    norank = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    save(graph_model([flat_x], [norank], [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, None)]),
         "no_rank.onnx", check=False)
    big = helper.make_tensor_value_info("image", TensorProto.FLOAT, [100000, 1, 28, 28])
    save(graph_model([flat], [big], [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [100000, 784])]),
         "huge_batch.onnx")
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

    ok = [(f"{c}/{i}.png".encode(), png, True, None) for c in "ab" for i in range(3)]
    # Zip bombs: a member declaring about 4 GiB (refused before inflating), and a member
    # declaring 100 bytes that inflates to 1 MiB of zeros (refused while inflating).
    (OUT / "bomb_declared.zip").write_bytes(raw_zip(ok + [(b"a/bomb.png", b"\0" * 1024, True, 0xFFFF_FFF0)]))
    (OUT / "bomb_lying.zip").write_bytes(raw_zip(ok + [(b"a/bomb.png", b"\0" * (1 << 20), True, 100)]))
    # Path traversal and absolute names: listed as skipped, never read as class folders.
    evil = [b"../x.png", b"/abs/y.png", b"a/../../z.png", b"C:/win/w.png", b"..\\b\\v.png"]
    (OUT / "traversal.zip").write_bytes(raw_zip(ok + [(n, png, True, None) for n in evil]))
    # Names that are not UTF-8: without the UTF-8 flag (read as CP437) and with it (invalid).
    (OUT / "non_utf8_names.zip").write_bytes(raw_zip(
        ok + [(b"\xe9t\xe9/1.png", png, False, None), (b"\xe9t\xe9/2.png", png, False, None),
              (b"b/\xff\xfe.png", png, True, None)]))
    write_zip("empty_image.zip", [("a/1.png", png), ("a/2.png", png), ("a/empty.png", b""),
                                  ("b/1.png", png), ("b/2.png", png)])
    write_zip("huge_dimensions.zip", [("a/1.png", png), ("a/2.png", png), ("b/1.png", png), ("b/2.png", png),
                                      ("b/huge.png", png_header_only(100000, 100000))])
    # Embeddings for the probe command: NaN, infinity, and labels of another length.
    good = np.arange(8, dtype=np.float32).reshape(4, 2)
    nan = good.copy()
    nan[1, 0] = np.nan
    inf = good.copy()
    inf[2, 1] = np.inf
    write_npy("embeddings4.npy", good)
    write_npy("nan_embeddings.npy", nan)
    write_npy("inf_embeddings.npy", inf)
    (OUT / "labels4.txt").write_text("a\nb\na\nb\n")
    (OUT / "labels3.txt").write_text("a\nb\na\n")
    # Text data: not UTF-8, and a ragged CSV row.
    (OUT / "non_utf8.csv").write_bytes(b"text,label\nhello,a\nwhy \xff\xfe,b\n")
    (OUT / "ragged.csv").write_bytes(b"text,label\nhello,a\nbye,b,extra\n")


if __name__ == "__main__":
    main()
