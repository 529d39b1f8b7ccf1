#!/usr/bin/env python3
"""Write tests/fixtures/embeddings/ (precomputed embeddings in every accepted format, with a
scikit-learn reference) and the embedding cases of the bad-input corpus in tests/fixtures/bad/.

Recipe (from the repo root, deterministic):

    python3 tools/make_embedding_fixtures.py

Data: sklearn.datasets.load_iris() (150 x 4, three species, values with one decimal; public
domain, Fisher 1936) as float32 "embeddings" with the species names as labels; stratified
train_test_split(test_size=0.2, random_state=0) -> 120 train / 30 test.

Files (the same numbers in each format):
    iris.npz                 X float32 [150, 4], y str ('<U10')
    iris_int.npz             X float64, y int64 (0, 1, 2)
    iris.csv                 header f0,f1,f2,f3,label; species names
    iris_X.npy, iris_labels.txt
    iris_train.npz / iris_test.npz, iris_train.csv / iris_test.csv,
    iris_X_train.npy + iris_y_train.txt / iris_X_test.npy + iris_y_test.txt
    iris_sklearn.json        LogisticRegression(C=1, lbfgs, max_iter=10000, tol=1e-10) fit on
                             the train half: test predictions (label names), accuracy, macro F1,
                             predict_proba and its log loss
Bad inputs (tests/fixtures/bad/, messages kept by hand in expected.json):
    emb_ragged.csv, emb_nan.csv, emb_text.csv, emb_nan.npz, emb_no_y.npz, emb_object_y.npz
"""
import json
import os

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "embeddings")
BAD = os.path.join(ROOT, "tests", "fixtures", "bad")


def write_csv(path, X, y):
    with open(path, "w", newline="\n") as f:
        f.write(",".join(f"f{j}" for j in range(X.shape[1])) + ",label\n")
        for row, label in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")


def write_set(stem, X, y):
    np.savez(os.path.join(OUT, f"{stem}.npz"), X=X, y=y)
    write_csv(os.path.join(OUT, f"{stem}.csv"), X, y)


def main():
    iris = load_iris()
    # float32 of the one-decimal values; repr(float(v)) of a float32 is its exact float64.
    X = iris.data.astype(np.float32)
    names = np.array([iris.target_names[t] for t in iris.target])
    os.makedirs(OUT, exist_ok=True)
    write_set("iris", X, names)
    np.savez(os.path.join(OUT, "iris_int.npz"), X=X.astype(np.float64), y=iris.target.astype(np.int64))
    np.save(os.path.join(OUT, "iris_X.npy"), X)
    with open(os.path.join(OUT, "iris_labels.txt"), "w") as f:
        f.write("".join(f"{v}\n" for v in names))

    Xtr, Xte, ytr, yte = train_test_split(X, names, test_size=0.2, stratify=names, random_state=0)
    for part, (Xp, yp) in {"train": (Xtr, ytr), "test": (Xte, yte)}.items():
        write_set(f"iris_{part}", Xp, yp)
        np.save(os.path.join(OUT, f"iris_X_{part}.npy"), Xp)
        with open(os.path.join(OUT, f"iris_y_{part}.txt"), "w") as f:
            f.write("".join(f"{v}\n" for v in yp))

    clf = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(Xtr.astype(np.float64), ytr)
    pred = clf.predict(Xte.astype(np.float64))
    proba = clf.predict_proba(Xte.astype(np.float64))
    ref = {
        "sklearn": __import__("sklearn").__version__,
        "classes": list(clf.classes_),
        "y_test": list(yte),
        "y_pred": list(pred),
        "accuracy": accuracy_score(yte, pred),
        "macro_f1": f1_score(yte, pred, average="macro"),
        "log_loss": log_loss(yte, proba, labels=clf.classes_),
        "proba": proba.round(12).tolist(),
    }
    with open(os.path.join(OUT, "iris_sklearn.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")

    os.makedirs(BAD, exist_ok=True)
    with open(os.path.join(BAD, "emb_ragged.csv"), "w") as f:
        f.write("f0,f1,label\n1.0,2.0,a\n3.0,b\n5.0,6.0,b\n")
    with open(os.path.join(BAD, "emb_nan.csv"), "w") as f:
        f.write("f0,f1,label\n1.0,2.0,a\n3.0,4.0,b\n5.0,nan,b\n")
    with open(os.path.join(BAD, "emb_text.csv"), "w") as f:
        f.write("f0,f1,label\n1.0,2.0,a\n3.0,four,b\n5.0,6.0,b\n")
    Xb = np.arange(8, dtype=np.float32).reshape(4, 2)
    Xnan = Xb.copy()
    Xnan[2, 1] = np.nan
    np.savez(os.path.join(BAD, "emb_nan.npz"), X=Xnan, y=np.array(["a", "b", "a", "b"]))
    np.savez(os.path.join(BAD, "emb_no_y.npz"), X=Xb)
    np.savez(os.path.join(BAD, "emb_object_y.npz"), X=Xb, y=np.array(["a", "b", "a", None], dtype=object))


if __name__ == "__main__":
    main()
