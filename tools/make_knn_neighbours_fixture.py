"""Reference neighbours of the k-NN probes for tests/knn_neighbours.rs.

Writes tests/fixtures/probes/knn_neighbours.json from the digits split of
tests/fixtures/probe/: scikit-learn's KNeighborsClassifier(metric="cosine",
algorithm="brute").kneighbors for k = 3 (the plain vote) and k = 20 (DINO's weighted
k-NN), as training-row indices, similarities (1 - cosine distance) and DINO's weights
exp(sim / 0.07). Only test rows whose k + 1 best similarities are all at least 1e-6 apart
are kept, so the order does not hinge on float rounding.

    python3 tools/make_knn_neighbours_fixture.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "probe")
OUT = os.path.join(ROOT, "tests", "fixtures", "probes", "knn_neighbours.json")
T = 0.07
GAP = 1e-6


def main():
    x_train = np.load(os.path.join(SRC, "digits_X_train.npy")).astype(np.float64)
    x_test = np.load(os.path.join(SRC, "digits_X_test.npy")).astype(np.float64)
    y_train = np.loadtxt(os.path.join(SRC, "digits_y_train.txt"), dtype=int)
    out = {"versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
           "temperature": T, "cases": []}
    for k in [3, 20]:
        clf = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(x_train, y_train)
        dist, idx = clf.kneighbors(x_test, n_neighbors=k + 1)
        sim = 1.0 - dist
        rows = [r for r in range(len(x_test)) if np.all(np.diff(-sim[r]) >= GAP)]
        out["cases"].append({
            "k": k,
            "test_rows": rows,
            "index": [idx[r, :k].tolist() for r in rows],
            "similarity": [sim[r, :k].round(12).tolist() for r in rows],
            "weight": [np.exp(sim[r, :k] / T).round(6).tolist() for r in rows],
        })
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
