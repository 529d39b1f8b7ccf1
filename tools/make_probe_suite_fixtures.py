#!/usr/bin/env python3
"""Write tests/fixtures/probes/: references for the k-NN and centroid probes, the new
metrics, the statistics and the CLIP C search.

Recipe (from the repo root, deterministic; versions in tools/requirements.txt plus
statsmodels):

    python3 tools/make_probe_suite_fixtures.py [FILE ...]   # all files, or only those named

Data: the digits split of tests/fixtures/probe/ (tools/make_probe_fixtures.py:
load_digits, pixels / 16 as float32, 1,437 train / 360 test) and small random cases.

Files:
    knn.json          scikit-learn KNeighborsClassifier(metric="cosine", algorithm="brute")
                      predictions and predict_proba; DINO weighted k-NN (numpy transcription
                      of dino/eval_knn.py); SimpleShot CL2N nearest centroid (numpy)
    metrics.json      top_k_accuracy_score, average_precision_score, precision_recall_curve,
                      roc_curve, calibration_curve (scikit-learn); ECE (numpy transcription
                      of torchmetrics' multiclass_calibration_error, norm="l1")
    stats.json        scipy.stats.binomtest / chi2.sf, statsmodels mcnemar, scipy.stats.bootstrap
                      (percentile and BCa), np.percentile
    clip_search.json  CoOp lpclip/linear_probe.py's C search, transcribed, on a synthetic
                      validation-accuracy function; and the search run with scikit-learn on
                      the digits split (validation = stratified 20 % of train, random_state=0)
    senteval.json     SentEval's nested k-fold (senteval/tools/validation.py,
                      InnerKFoldClassifier.run, scikit-learn path) transcribed, on seeded
                      3-class Gaussian blobs: StratifiedKFold(5, shuffle=True,
                      random_state=1111) outside and inside, C in 2^-2..2^3, the folds, every
                      C's inner score, the chosen C and the test accuracy of each outer fold
"""
import sys
import json
import os

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (average_precision_score, precision_recall_curve,
                             roc_curve, top_k_accuracy_score)
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "probe")
OUT = os.path.join(ROOT, "tests", "fixtures", "probes")
VERSIONS = {"numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__}


def load_digits_split():
    X_train = np.load(os.path.join(SRC, "digits_X_train.npy"))
    X_test = np.load(os.path.join(SRC, "digits_X_test.npy"))
    y_train = np.loadtxt(os.path.join(SRC, "digits_y_train.txt"), dtype=int)
    y_test = np.loadtxt(os.path.join(SRC, "digits_y_test.txt"), dtype=int)
    return X_train, y_train, X_test, y_test


def l2n(X):
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.where(n > 0, X / np.where(n > 0, n, 1), X)


def dino_knn(Xtr, ytr, Xte, k, T, n_classes):
    """dino/eval_knn.py knn_classifier, in numpy (float64); sort ties by lowest index."""
    sim = l2n(Xte) @ l2n(Xtr).T
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    d = np.take_along_axis(sim, idx, axis=1)
    w = np.exp(d / T)
    probs = np.zeros((len(Xte), n_classes))
    for c in range(n_classes):
        probs[:, c] = (w * (ytr[idx] == c)).sum(1)
    order = np.argsort(-probs, axis=1, kind="stable")
    return probs / probs.sum(1, keepdims=True), order


def knn_fixture():
    Xtr, ytr, Xte, yte = load_digits_split()
    Xtr64, Xte64 = Xtr.astype(np.float64), Xte.astype(np.float64)
    out = {"versions": VERSIONS, "vote": [], "weighted": [], "tie_cases": []}
    # Neighbour-boundary margin: exact equality with scikit-learn is only meaningful when
    # the k-th and (k+1)-th similarities are not (nearly) tied; record the smallest gap.
    sim = l2n(Xte64) @ l2n(Xtr64).T
    ssort = -np.sort(-sim, axis=1)
    for k in [1, 3, 5, 20]:
        clf = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(Xtr64, ytr)
        gap = float(np.min(ssort[:, k - 1] - ssort[:, k]))
        out["vote"].append({
            "k": k,
            "pred": clf.predict(Xte64).tolist(),
            "proba": clf.predict_proba(Xte64).round(12).tolist(),
            "min_boundary_gap": gap,
        })
    for k in [10, 20]:
        probs, order = dino_knn(Xtr64, ytr, Xte64, k, 0.07, 10)
        m = min(5, k)
        out["weighted"].append({
            "k": k, "temperature": 0.07,
            "pred": order[:, 0].tolist(),
            "top1": float(np.mean(order[:, 0] == yte)),
            "top5": float(np.mean((order[:, :m] == yte[:, None]).any(1))),
            "scores_first_rows": probs[:5].tolist(),
        })
    # SimpleShot CL2N nearest centroid.
    mean = Xtr64.mean(0)
    ftr, fte = l2n(Xtr64 - mean), l2n(Xte64 - mean)
    cents = np.stack([ftr[ytr == c].mean(0) for c in range(10)])
    dist = np.linalg.norm(fte[:, None, :] - cents[None], axis=2)
    out["centroid"] = {"pred": dist.argmin(1).tolist(), "distances_first_rows": dist[:5].tolist()}
    # Vote ties: two classes with the same votes -> the lowest class label wins.
    cases = [
        # (train rows, labels, test rows, k)
        ([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], [1, 0, 1, 0], [[1, 0.5], [0.5, 1]], 2),
        ([[1, 0], [0.95, 0.05], [0.8, 0.2], [0.6, 0.4], [0.1, 1]], [2, 1, 0, 2, 1], [[1, 0.01]], 4),
        ([[3, 1], [2, 2], [1, 3], [1, 0], [0, 1]], [0, 1, 2, 1, 0], [[1, 1], [2, 1], [0, 0.5]], 3),
    ]
    for tr, lab, te, k in cases:
        clf = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(
            np.array(tr, float), np.array(lab))
        out["tie_cases"].append({"train": tr, "labels": lab, "test": te, "k": k,
                                 "pred": clf.predict(np.array(te, float)).tolist()})
    return out


def torch_linspace(n):
    steps = n + 1
    step = 1.0 / n
    half = steps // 2
    return np.array([step * i if i < half else 1.0 - step * (steps - i - 1) for i in range(steps)])


def ece_torchmetrics(y, proba, n_bins=15):
    """torchmetrics.functional.classification.multiclass_calibration_error(norm="l1"),
    _binning_bucketize, in numpy (float64)."""
    conf = proba.max(1)
    acc = (proba.argmax(1) == y).astype(float)
    edges = torch_linspace(n_bins)
    idx = np.searchsorted(edges, conf, side="right") - 1  # torch.bucketize(right=True) - 1
    count = np.bincount(idx, minlength=len(edges)).astype(float)
    conf_b = np.bincount(idx, weights=conf, minlength=len(edges))
    acc_b = np.bincount(idx, weights=acc, minlength=len(edges))
    with np.errstate(invalid="ignore", divide="ignore"):
        conf_b = np.nan_to_num(conf_b / count)
        acc_b = np.nan_to_num(acc_b / count)
    prop = count / count.sum()
    return float(np.sum(np.abs(acc_b - conf_b) * prop))


def metrics_case(name, y, proba):
    n, k = proba.shape
    e = {}
    e["top_k"] = {str(t): float(top_k_accuracy_score(y, proba if k > 2 else proba[:, 1], k=t, labels=list(range(k))))
                  for t in range(1, k + 1) if not (k == 2 and t == 2)}
    Y = (y[:, None] == np.arange(k)[None]).astype(int)
    per_class, pr, roc = [], [], []
    for j in range(k):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            per_class.append(float(average_precision_score(Y[:, j], proba[:, j])))
            p, r, t = precision_recall_curve(Y[:, j], proba[:, j])
        pr.append({"precision": p.tolist(), "recall": r.tolist(), "thresholds": t.tolist()})
        if 0 < Y[:, j].sum() < n:
            fpr, tpr, thr = roc_curve(Y[:, j], proba[:, j], drop_intermediate=True)
            assert np.isinf(thr[0])
            roc.append({"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr[1:].tolist()})
        else:
            roc.append(None)
    e["ap_per_class"] = per_class
    if k == 2:
        e["average_precision"] = float(average_precision_score(y, proba[:, 1]))
        pos, prob, of = y == 1, proba[:, 1], "positive_class"
    else:
        e["average_precision"] = float(np.mean(per_class))
        if Y.sum(0).min() > 0:
            assert abs(e["average_precision"] - average_precision_score(Y, proba, average="macro")) < 1e-15
        pos, prob, of = proba.argmax(1) == y, proba.max(1), "top_label"
    e["pr"] = pr
    e["roc"] = roc
    e["ece"] = ece_torchmetrics(y, proba)
    pt, pp = calibration_curve(pos.astype(int), prob, n_bins=5, strategy="uniform")
    e["calibration"] = {"of": of, "prob_true": pt.tolist(), "prob_pred": pp.tolist()}
    return {"name": name, "y_true": y.tolist(), "proba": proba.tolist(), "expected": e}


def metrics_fixture():
    rng = np.random.default_rng(20240601)
    cases = []

    def softmax(z):
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    y = rng.integers(0, 4, 80)
    z = rng.normal(size=(80, 4)) + 1.5 * np.eye(4)[y]
    cases.append(metrics_case("multiclass_random", y, softmax(z)))
    # Probabilities rounded to 1/8: many score ties (exact in binary floating point).
    p = np.round(softmax(z) * 8) / 8
    p[:, 0] = 1 - p[:, 1:].sum(1)
    p = np.clip(p, 0, 1)
    p /= p.sum(1, keepdims=True)
    cases.append(metrics_case("multiclass_tied_scores", y, p))
    yb = rng.integers(0, 2, 50)
    zb = rng.normal(size=50) + 1.2 * yb
    pb = 1 / (1 + np.exp(-zb))
    cases.append(metrics_case("binary", yb, np.stack([1 - pb, pb], 1)))
    # Class 2 has no test sample: AP 0 (scikit-learn's convention), no ROC curve.
    y3 = rng.integers(0, 2, 30)
    y3[:3] = 3
    z3 = rng.normal(size=(30, 4)) + 2 * np.eye(4)[y3]
    cases.append(metrics_case("absent_class", y3, softmax(z3)))
    # Confidences exactly on bin edges and at 1.
    y4 = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    p4 = np.array([[1, 0, 0], [0.2, 0.4, 0.4], [0.2, 0.2, 0.6], [0.4, 0.4, 0.2],
                   [0, 1, 0], [0.2, 0.6, 0.2], [0.6, 0.2, 0.2], [0.8, 0.2, 0.0]])
    cases.append(metrics_case("bin_edges", y4, p4))
    return {"versions": VERSIONS, "cases": cases}


def stats_fixture():
    out = {"versions": VERSIONS, "mcnemar": []}
    for b, c in [(0, 0), (3, 0), (0, 5), (7, 7), (4, 12), (10, 14), (12, 13), (20, 5), (40, 22), (100, 130), (6, 30)]:
        n = b + c
        exact = n < 25
        p_exact = 1.0 if n == 0 else float(stats.binomtest(b, n, 0.5).pvalue)
        stat = (abs(b - c) - 1) ** 2 / n if n else 0.0
        p_chi2 = float(stats.chi2.sf(stat, 1)) if n else 1.0
        table = [[50, b], [c, 50]]
        sm = sm_mcnemar(table, exact=exact, correction=True)
        p = p_exact if exact else p_chi2
        assert abs(float(sm.pvalue) - p) < 1e-12, (b, c, sm.pvalue, p)
        out["mcnemar"].append({"b": b, "c": c, "method": "exact_binomial" if exact else "chi_square_continuity_corrected",
                               "statistic": float(min(b, c)) if exact else stat, "p_value": p})
    rng = np.random.default_rng(7)
    x = (rng.random(200) < 0.8).astype(float)
    out["bootstrap_sample"] = x.tolist()
    for method in ["percentile", "BCa"]:
        r = stats.bootstrap((x,), np.mean, n_resamples=9999, confidence_level=0.95,
                            method=method, rng=np.random.default_rng(0))
        out[f"bootstrap_{method.lower()}"] = [float(r.confidence_interval.low), float(r.confidence_interval.high)]
    v = rng.normal(size=37)
    out["percentile"] = {"values": v.tolist(), "q": [0, 2.5, 50, 97.5, 100],
                         "expected": np.percentile(v, [0, 2.5, 50, 97.5, 100]).tolist()}
    return out


def coop_search(val_acc):
    """CoOp lpclip/linear_probe.py's search, with val_acc(c) in place of a fit."""
    search_list = [1e6, 1e4, 1e2, 1, 1e-2, 1e-4, 1e-6]
    trials = []
    acc_list = []
    for c in search_list:
        acc_list.append(val_acc(c))
        trials.append((c, acc_list[-1]))
    c_peak = search_list[int(np.argmax(acc_list))]
    c_left, c_right = 1e-1 * c_peak, 1e1 * c_peak
    c_final = c_peak
    for _ in range(8):
        acc_left, acc_right = val_acc(c_left), val_acc(c_right)
        trials += [(c_left, acc_left), (c_right, acc_right)]
        if acc_left < acc_right:
            c_final = c_right
            c_left = 0.5 * (np.log10(c_right) + np.log10(c_left))
            c_right = np.log10(c_right)
        else:
            c_final = c_left
            c_right = 0.5 * (np.log10(c_right) + np.log10(c_left))
            c_left = np.log10(c_left)
        c_left, c_right = np.power(10, c_left), np.power(10, c_right)
    return trials, c_final


def clip_fixture():
    out = {"versions": VERSIONS, "synthetic": []}
    for centre in [0.7, -3.2, 5.5]:
        f = lambda c, m=centre: round(float(np.exp(-(np.log10(c) - m) ** 2 / 8)), 3)
        trials, chosen = coop_search(f)
        out["synthetic"].append({"centre": centre, "trials": [list(t) for t in trials], "chosen": float(chosen)})
    Xtr, ytr, Xte, yte = load_digits_split()
    fit_idx, val_idx = train_test_split(np.arange(len(ytr)), test_size=0.2, stratify=ytr, random_state=0)
    fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)

    out["digits"] = {"val_index": val_idx.tolist()}
    # CoOp runs scikit-learn at its default tol 1e-4, where lbfgs stops before the optimum
    # (see README) and the chosen C depends on the solver path (here: C 930.57, test
    # accuracy 0.9556). The reference is the search at the optimum: tol 1e-10,
    # max_iter 10000. (At C = 1e-6 scikit-learn stops after 2 iterations at any tol; that
    # validation accuracy is set by round-off and is never the peak.)
    for key, tol, max_iter in [("coop_default", 1e-4, 1000), ("optimum", 1e-10, 10000)]:
        def val_acc(c):
            clf = LogisticRegression(C=c, max_iter=max_iter, tol=tol).fit(Xtr[fit_idx], ytr[fit_idx])
            return float(np.mean(clf.predict(Xtr[val_idx]) == ytr[val_idx]))
        trials, chosen = coop_search(val_acc)
        clf = LogisticRegression(C=chosen, max_iter=max_iter, tol=tol).fit(Xtr, ytr)
        out["digits"][key] = {"tol": tol, "max_iter": max_iter, "trials": [list(t) for t in trials],
                              "chosen": float(chosen), "test_accuracy": float(np.mean(clf.predict(Xte) == yte))}
    return out


def senteval_fixture():
    """SentEval's InnerKFoldClassifier.run with scikit-learn, transcribed. SentEval fits
    LogisticRegression(C=reg, random_state=1111) at scikit-learn's default tol 1e-4, where
    lbfgs stops before the optimum and predictions depend on the solver path (see README);
    the reference fits to the optimum (tol 1e-10, max_iter 10000) instead."""
    rng = np.random.RandomState(7)
    n_per, dim = 50, 6
    centres = rng.normal(0.0, 1.0, (3, dim))
    X = np.vstack([c + rng.normal(0.0, 1.5, (n_per, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(3), n_per)
    X64 = X.astype(np.float64)
    tol, max_iter = 1e-10, 10000
    regs = [2 ** t for t in range(-2, 4, 1)]
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=1111)
    innerskf = StratifiedKFold(n_splits=5, shuffle=True, random_state=1111)
    folds = []
    for train_idx, test_idx in skf.split(X64, y):
        X_train, X_test = X64[train_idx], X64[test_idx]
        y_train, y_test = y[train_idx], y[test_idx]
        inner = list(innerskf.split(X_train, y_train))
        scores, means = [], []
        for reg in regs:
            regscores = []
            for inner_train_idx, inner_test_idx in inner:
                clf = LogisticRegression(C=reg, random_state=1111, tol=tol, max_iter=max_iter)
                clf.fit(X_train[inner_train_idx], y_train[inner_train_idx])
                regscores.append(clf.score(X_train[inner_test_idx], y_train[inner_test_idx]))
            scores.append(round(100 * np.mean(regscores), 2))
            means.append(float(np.mean(regscores)))
        optreg = regs[int(np.argmax(scores))]
        clf = LogisticRegression(C=optreg, random_state=1111, tol=tol, max_iter=max_iter)
        clf.fit(X_train, y_train)
        folds.append({
            "test_index": np.sort(test_idx).tolist(),
            "inner_test_index": [np.sort(t).tolist() for _, t in inner],
            "inner_mean_accuracy": means,
            "scores": scores,
            "chosen": float(optreg),
            "test_accuracy": float(clf.score(X_test, y_test)),
        })
    return {"versions": VERSIONS, "x": X.tolist(), "y": y.tolist(), "c_grid": [float(r) for r in regs],
            "tol": tol, "max_iter": max_iter, "folds": folds,
            "test_accuracy_mean": float(np.mean([f["test_accuracy"] for f in folds]))}


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for name, make in [("knn.json", knn_fixture), ("metrics.json", metrics_fixture),
                       ("stats.json", stats_fixture), ("clip_search.json", clip_fixture),
                       ("senteval.json", senteval_fixture)]:
        if only and name not in only:
            continue
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(make(), f, separators=(",", ":"))
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
