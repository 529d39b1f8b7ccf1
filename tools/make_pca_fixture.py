#!/usr/bin/env python3
"""Write tests/fixtures/pca/cases.json: scikit-learn PCA(n_components=2) references for
src/pca.rs. Each case: {"name", "n", "dim", "x": [float32 values, row-major],
"coords": fit_transform(x) row-major n x 2, "components": 2 x dim,
"explained_variance", "explained_variance_ratio", "sklearn_version"}.

The inputs are float32 values (what the page's embeddings are); scikit-learn gets them as
float64, as src/pca.rs computes. Signs are scikit-learn's (svd_flip, u_based_decision=False
since 1.5: the largest |entry| of each component is positive).

Recipe (from the repo root, deterministic):

    python3 tools/make_pca_fixture.py
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.decomposition import PCA

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/pca/cases.json"


def case(name, x):
    x = np.asarray(x, dtype=np.float32)
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(x.astype(np.float64))
    return {
        "name": name,
        "n": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "x": [float(v) for v in x.ravel()],
        "coords": [float(v) for v in coords.ravel()],
        "components": [float(v) for v in pca.components_.ravel()],
        "explained_variance": [float(v) for v in pca.explained_variance_],
        "explained_variance_ratio": [float(v) for v in pca.explained_variance_ratio_],
        "sklearn_version": sklearn.__version__,
    }


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    # Anisotropic Gaussian with an offset: a clear gap between the top components.
    scales = np.array([5.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05])
    cases.append(case("gaussian_60x8", rng.normal(size=(60, 8)) * scales + 10.0))
    # More features than rows (n < d), like a small test split of a wide encoder.
    cases.append(case("wide_12x40", rng.normal(size=(12, 40)) * np.linspace(2.0, 0.1, 40)))
    # Close top eigenvalues (1.0 vs 0.97): slow for plain power iteration.
    close = np.array([1.0, 0.97, 0.5, 0.2, 0.1, 0.05])
    cases.append(case("close_gap_200x6", rng.normal(size=(200, 6)) * close))
    # The first 150 digits test rows of the probe fixtures (real 64-dimensional features).
    digits = np.load(ROOT / "tests/fixtures/probe/digits_X_test.npy")[:150]
    cases.append(case("digits_test", digits))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, scikit-learn {sklearn.__version__})")


if __name__ == "__main__":
    main()
