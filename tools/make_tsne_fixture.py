#!/usr/bin/env python3
"""Write tests/fixtures/tsne/: scikit-learn t-SNE references for src/tsne.rs.

- digits_X.npy   float32 [300, 64]: the first 300 rows of `load_digits()`, pixels / 16, plus a
                 fixed normal jitter (std 1e-3, numpy seed 0) so no two distances tie (digits
                 pixels are multiples of 1/16, whose distances tie often; a tie makes the
                 neighbour ranks of `trustworthiness` depend on the sort, not on the data).
- digits_y.npy   int64 [300]: the digit of each row.
- reference.json scikit-learn's `TSNE(n_components=2, init='pca', random_state=0, perplexity=30)`
                 (Barnes-Hut, theta 0.5, max_iter 1000, early exaggeration 12, learning rate
                 'auto') of digits_X: `coords` row-major [300, 2], `trustworthiness` =
                 `sklearn.manifold.trustworthiness(X, coords, n_neighbors=5)`, `one_nn_accuracy`
                 = leave-one-out 1-NN accuracy of the labels in those 2-D coordinates (Euclidean),
                 `kl_divergence`, `n_iter`, and the smallest relative gap between consecutive
                 sorted input distances of a row (`min_rel_gap`, to show there are no ties).

Recipe (from the repo root, deterministic; scikit-learn and numpy versions in
tools/requirements.txt):

    python3 tools/make_tsne_fixture.py
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, trustworthiness
from sklearn.metrics import pairwise_distances

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/tsne"
N = 300


def one_nn_accuracy(coords, y):
    d = pairwise_distances(coords.astype(np.float64))
    np.fill_diagonal(d, np.inf)
    return float(np.mean(y[np.argmin(d, axis=1)] == y))


def main():
    digits = load_digits()
    rng = np.random.default_rng(0)
    x = (digits.data[:N] / 16.0 + rng.normal(0.0, 1e-3, size=(N, 64))).astype(np.float32)
    y = digits.target[:N].astype(np.int64)

    d = np.sort(pairwise_distances(x.astype(np.float64)), axis=1)[:, 1:]
    min_rel_gap = float(np.min(np.diff(d, axis=1) / d[:, 1:]))
    assert min_rel_gap > 1e-10, f"near-tied distances (relative gap {min_rel_gap})"

    tsne = TSNE(n_components=2, init="pca", random_state=0, perplexity=30)
    coords = tsne.fit_transform(x)
    ref = {
        "sklearn_version": sklearn.__version__,
        "n": N,
        "dim": int(x.shape[1]),
        "perplexity": 30.0,
        "coords": [float(v) for v in coords.ravel()],
        "trustworthiness": float(trustworthiness(x, coords, n_neighbors=5)),
        "one_nn_accuracy": one_nn_accuracy(coords, y),
        "kl_divergence": float(tsne.kl_divergence_),
        "n_iter": int(tsne.n_iter_),
        "min_rel_gap": min_rel_gap,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "digits_X.npy", x)
    np.save(OUT / "digits_y.npy", y)
    (OUT / "reference.json").write_text(json.dumps(ref) + "\n")
    print(
        f"wrote {OUT}: trustworthiness {ref['trustworthiness']:.6f}, 1-NN accuracy "
        f"{ref['one_nn_accuracy']:.4f}, KL {ref['kl_divergence']:.4f} "
        f"(scikit-learn {sklearn.__version__})"
    )


if __name__ == "__main__":
    main()
