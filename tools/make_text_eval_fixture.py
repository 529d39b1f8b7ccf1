#!/usr/bin/env python3
"""Write tests/fixtures/text-eval/: a small TREC-6 sample and the scikit-learn reference for
`downstream eval` with a text encoder on it.

Recipe (from the repo root; needs models/minilm from `make models`, the CLI from `make cli`,
and numpy, onnxruntime, tokenizers, scikit-learn):

    python3 tools/make_text_eval_fixture.py

Files:
    trec_small.csv     text,label: the first 25 questions of each class of
                       assets/text-demo/trec6_sample.csv (ABBR has 10), in file order
    trec_small.jsonl   the same rows as JSONL with the keys "question" and "coarse"
    reference.json     what scikit-learn gets on the CLI's split (below)

The seeded stratified split is Downstream's own (src/split.rs), so it is not re-implemented
here: the CLI's report gives the test rows (`predictions.test_index`, seed 0, test fraction
0.2), the rest are the training rows. The embeddings are sentence-transformers'
all-MiniLM-L6-v2 made with onnxruntime and the `tokenizers` package (truncation at 256 word
pieces, masked mean, L2 normalisation; tools/convert_minilm.py's functions), and the probe is
LogisticRegression(C=1.0, max_iter=1000) in float64 on them.
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             log_loss)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from convert_minilm import encode, pool, run_ort, session, tokenizer  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "text-eval"
SOURCE = ROOT / "assets" / "text-demo" / "trec6_sample.csv"
MODEL = ROOT / "models" / "minilm" / "model.onnx"
TOKENIZER = ROOT / "models" / "minilm" / "tokenizer.json"
CLI = ROOT / "target" / "debug" / "downstream"
PER_CLASS = 25


def sample():
    with open(SOURCE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    taken, seen = [], {}
    for r in rows:
        if seen.get(r["label"], 0) < PER_CLASS:
            seen[r["label"]] = seen.get(r["label"], 0) + 1
            taken.append((r["text"], r["label"]))
    return taken


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rows = sample()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["text", "label"])
    w.writerows(rows)
    (OUT / "trec_small.csv").write_text(buf.getvalue(), encoding="utf-8")
    with open(OUT / "trec_small.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for text, label in rows:
            f.write(json.dumps({"question": text, "coarse": label}, ensure_ascii=False) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        report_path = os.path.join(tmp, "report.json")
        subprocess.run(
            [str(CLI), "eval", "--model", str(MODEL), "--tokenizer", str(TOKENIZER),
             "--data", str(OUT / "trec_small.csv"), "--seed", "0", "--out", report_path],
            check=True, stdout=subprocess.DEVNULL)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    test_index = report["predictions"]["test_index"]
    classes = sorted({label for _, label in rows})
    y = np.array([classes.index(label) for _, label in rows])
    test = np.array(test_index)
    train = np.array(sorted(set(range(len(rows))) - set(test_index)))

    tok = tokenizer(TOKENIZER)
    sess = session(MODEL)
    texts = [t for t, _ in rows]
    emb = []
    for i in range(0, len(texts), 32):
        ids, mask = encode(tok, texts[i:i + 32])
        emb.append(pool(run_ort(sess, ids, mask), mask))
    x = np.concatenate(emb).astype(np.float32).astype(np.float64)

    clf = LogisticRegression(C=1.0, max_iter=1000).fit(x[train], y[train])
    proba = clf.predict_proba(x[test])
    pred = proba.argmax(1)
    ref = {
        "recipe": "tools/make_text_eval_fixture.py: all-MiniLM-L6-v2 (onnxruntime, truncation 256, masked mean, "
                  "L2 norm) + LogisticRegression(C=1.0, max_iter=1000), scikit-learn "
                  + __import__("sklearn").__version__ + ", on the CLI's seed-0 split",
        "classes": classes,
        "n": len(rows),
        "test_index": test_index,
        "y_true": [int(v) for v in y[test]],
        "y_pred": [int(v) for v in pred],
        "confidence": [float(proba[i, p]) for i, p in enumerate(pred)],
        "accuracy": float(accuracy_score(y[test], pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y[test], pred)),
        "macro_f1": float(f1_score(y[test], pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y[test], pred, average="weighted", zero_division=0)),
        "log_loss": float(log_loss(y[test], proba, labels=list(range(len(classes))))),
        "confusion_matrix": confusion_matrix(y[test], pred, labels=list(range(len(classes)))).tolist(),
    }
    (OUT / "reference.json").write_text(json.dumps(ref, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} texts, {len(test_index)} test: accuracy {ref['accuracy']:.4f} macro F1 {ref['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
