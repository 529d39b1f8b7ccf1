#!/usr/bin/env python3
"""Write tests/fixtures/metrics/cases.json: classification-metric test cases with
scikit-learn reference values. The file is a JSON list of cases:
{"name", "labels", "y_true": [str], "y_pred": [str], "proba": [[float]] | null,
 "expected": {...}, "sklearn_version", optional "note"}.

Recipe (from the repo root, deterministic):

    python3 tools/make_metric_fixtures.py

Conventions (what the Rust side must reproduce):
- labels are strings; label order = Python sorted() (code-point order) over the
  union of y_true and y_pred; proba columns follow that order.
- proba values are multiples of 1/1024 (exact in binary floating point), every
  entry >= 1/1024, each row sums to exactly 1.
- precision/recall/f1 use zero_division=0 and labels = the sorted union.
- confusion matrix rows = true label, columns = predicted label.
- proba metrics (log_loss, roc_auc_ovr_macro, top_2_accuracy) only when proba is
  given; binary ROC AUC = roc_auc_score(y_true == labels[1], proba[:, 1]).
- balanced_accuracy is sklearn's: mean recall over classes present in y_true.
- if sklearn returned NaN for a metric we store 0 and say so in "note".
"""
import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics as M

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "cases.json")
DEN = 1024


def quantize_rows(p):
    """Rows of positive floats -> multiples of 1/DEN, each >= 1/DEN, summing to 1 exactly."""
    p = np.asarray(p, dtype=np.float64)
    k = p.shape[1]
    out = []
    for row in p:
        row = row / row.sum()
        free = DEN - k
        raw = row * free
        base = np.floor(raw).astype(int)
        rem = free - base.sum()
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:rem]] += 1
        cnt = base + 1
        assert cnt.sum() == DEN and cnt.min() >= 1
        out.append([int(c) / DEN for c in cnt])
    return out


def proba_from_pred(rng, y_pred_idx, k, conc=1.0, peak=3.0):
    """Random Dirichlet rows whose argmax is y_pred_idx; the top 3 values are distinct
    (no tie decides top-1 or top-2)."""
    rows = []
    for j in y_pred_idx:
        while True:
            r = rng.dirichlet(np.full(k, conc))
            r[j] += peak * r.max()
            q = quantize_rows([r])[0]
            top = sorted(q, reverse=True)[:3]
            if int(np.argmax(q)) == j and all(a > b for a, b in zip(top, top[1:])):
                rows.append(q)
                break
    return rows


def compute(name, y_true, y_pred, proba, note=None):
    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    labels = sorted(set(y_true) | set(y_pred))
    yt, yp = np.array(y_true, dtype=object), np.array(y_pred, dtype=object)
    notes = [note] if note else []
    e = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e["accuracy"] = M.accuracy_score(yt, yp)
        e["balanced_accuracy"] = M.balanced_accuracy_score(yt, yp)
        for avg in ["macro"]:
            p, r, f, _ = M.precision_recall_fscore_support(yt, yp, labels=labels, average=avg, zero_division=0)
            e["macro_precision"], e["macro_recall"], e["macro_f1"] = p, r, f
        e["weighted_f1"] = M.f1_score(yt, yp, labels=labels, average="weighted", zero_division=0)
        e["mcc"] = M.matthews_corrcoef(yt, yp)
        e["cohen_kappa"] = M.cohen_kappa_score(yt, yp, labels=labels)
        p, r, f, s = M.precision_recall_fscore_support(yt, yp, labels=labels, average=None, zero_division=0)
        e["per_class"] = {l: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(s[i])} for i, l in enumerate(labels)}
        cm = M.confusion_matrix(yt, yp, labels=labels)
        e["confusion_matrix"] = {"labels": labels, "matrix": cm.astype(int).tolist()}
        if proba is not None:
            P = np.asarray(proba, dtype=np.float64)
            assert P.shape == (len(y_true), len(labels))
            assert np.all(P.sum(axis=1) == 1.0)
            e["log_loss"] = M.log_loss(yt, P, labels=labels)
            if len(labels) == 2:
                e["roc_auc_ovr_macro"] = M.roc_auc_score(yt == labels[1], P[:, 1])
            else:
                e["roc_auc_ovr_macro"] = M.roc_auc_score(yt, P, multi_class="ovr", average="macro", labels=labels)
            if len(labels) == 2:
                # sklearn's binary branch: k=2 >= n_classes, every sample is a hit
                e["top_2_accuracy"] = M.top_k_accuracy_score(yt, P[:, 1], k=2, labels=labels)
            else:
                e["top_2_accuracy"] = M.top_k_accuracy_score(yt, P, k=2, labels=labels)
    for k in list(e):
        v = e[k]
        if isinstance(v, (float, np.floating)):
            v = float(v)
            if math.isnan(v):
                notes.append(f"sklearn returned NaN for {k}; stored 0 (our rule)")
                v = 0.0
            e[k] = v
    case = {"name": name, "labels": labels, "y_true": y_true, "y_pred": y_pred,
            "proba": proba, "expected": e}
    if notes:
        case["note"] = "; ".join(notes)
    return case


def main():
    rng = np.random.default_rng(12345)
    cases = []

    # 1. binary, with proba
    n = 40
    yt = rng.integers(0, 2, n)
    yp = np.where(rng.random(n) < 0.8, yt, 1 - yt)
    names = ["neg", "pos"]
    cases.append(compute("binary", [names[i] for i in yt], [names[i] for i in yp],
                         proba_from_pred(rng, yp, 2, peak=0.5)))

    # 2. 3-class, with proba
    n = 30
    yt = rng.integers(0, 3, n)
    yp = np.where(rng.random(n) < 0.7, yt, rng.integers(0, 3, n))
    names = ["a", "b", "c"]
    cases.append(compute("three_class", [names[i] for i in yt], [names[i] for i in yp],
                         proba_from_pred(rng, yp, 3)))

    # 3. 10-class random, n=200 (labels "0".."9")
    n = 200
    yt = rng.integers(0, 10, n)
    yp = np.where(rng.random(n) < 0.6, yt, rng.integers(0, 10, n))
    cases.append(compute("ten_class_random", [str(i) for i in yt], [str(i) for i in yp],
                         proba_from_pred(rng, yp, 10, conc=0.7)))

    # 4. string labels
    n = 24
    names = ["cat", "dog", "zebra"]
    yt = rng.integers(0, 3, n)
    yp = np.where(rng.random(n) < 0.65, yt, rng.integers(0, 3, n))
    cases.append(compute("string_labels", [names[i] for i in yt], [names[i] for i in yp],
                         proba_from_pred(rng, yp, 3)))

    # 5. numeric-looking strings: sorted() is lexicographic ("1" < "10" < "2")
    n = 30
    names = ["1", "10", "2"]
    yt = rng.integers(0, 3, n)
    yp = np.where(rng.random(n) < 0.7, yt, rng.integers(0, 3, n))
    cases.append(compute("numeric_strings_lexicographic", [names[i] for i in yt], [names[i] for i in yp],
                         proba_from_pred(rng, yp, 3),
                         note="labels sort as strings: ['1', '10', '2']"))

    # 6. a class that is never predicted (precision 0/0 -> 0)
    yt = ["x"] * 6 + ["y"] * 6 + ["z"] * 4
    yp = ["x"] * 5 + ["y"] + ["y"] * 5 + ["x"] + ["x", "y", "x", "y"]
    idx = {"x": 0, "y": 1, "z": 2}
    cases.append(compute("class_never_predicted", yt, yp,
                         proba_from_pred(rng, [idx[v] for v in yp], 3),
                         note="class 'z' is never predicted: its precision and f1 are 0 (zero_division=0)"))

    # 7. a label predicted that never occurs in y_true (no proba metrics)
    yt = ["a"] * 5 + ["b"] * 5
    yp = ["a", "a", "a", "c", "b", "b", "b", "c", "c", "a"]
    cases.append(compute("label_only_in_pred", yt, yp, None,
                         note="'c' only in y_pred: recall 0/0 -> 0, support 0; balanced_accuracy averages "
                              "recall over classes present in y_true only (sklearn); macro_* average over all 3 labels"))

    # 8. perfect prediction
    names = ["ant", "bee", "cow", "dog"]
    yt = [names[i] for i in rng.integers(0, 4, 20)]
    for l in names:
        if l not in yt:
            yt.append(l)
    cases.append(compute("perfect", yt, list(yt),
                         proba_from_pred(rng, [names.index(v) for v in yt], 4, peak=2.0)))

    # 9. all wrong (cyclic shift)
    names = ["p", "q", "r"]
    yt_i = np.array([0, 1, 2] * 5)
    yp_i = (yt_i + 1) % 3
    cases.append(compute("all_wrong", [names[i] for i in yt_i], [names[i] for i in yp_i],
                         proba_from_pred(rng, yp_i, 3)))

    # 10. heavily imbalanced: 90 / 8 / 2
    yt_i = np.array([0] * 90 + [1] * 8 + [2] * 2)
    yp_i = yt_i.copy()
    yp_i[[1, 7, 33, 60]] = 1          # a few majority mistakes
    yp_i[[90, 91, 92, 93, 94]] = 0    # minority mostly eaten by majority
    yp_i[98] = 0
    names = ["common", "rare", "very_rare"]
    cases.append(compute("heavily_imbalanced", [names[i] for i in yt_i], [names[i] for i in yp_i],
                         proba_from_pred(rng, yp_i, 3, conc=0.5)))

    # 11. case-sensitive sorting: uppercase before lowercase in code-point order
    names = ["Zebra", "apple", "banana"]
    yt = rng.integers(0, 3, 18)
    yp = np.where(rng.random(18) < 0.7, yt, rng.integers(0, 3, 18))
    cases.append(compute("case_sensitive_labels", [names[i] for i in yt], [names[i] for i in yp],
                         proba_from_pred(rng, yp, 3),
                         note="sorted() is code-point order: 'Zebra' < 'apple' < 'banana'"))

    for c in cases:
        c["sklearn_version"] = sklearn.__version__
    doc = cases
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    for c in cases:
        e = c["expected"]
        print(f"{c['name']:32s} n={len(c['y_true']):3d} k={len(c['labels'])} acc={e['accuracy']:.4f} "
              f"bal={e['balanced_accuracy']:.4f} mf1={e['macro_f1']:.4f} mcc={e['mcc']:.4f} "
              f"kappa={e['cohen_kappa']:.4f}" + (f" ll={e['log_loss']:.4f} auc={e['roc_auc_ovr_macro']:.4f} "
                                                f"top2={e['top_2_accuracy']:.4f}" if "log_loss" in e else ""))
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(cases)} cases, sklearn {sklearn.__version__})")


if __name__ == "__main__":
    main()
