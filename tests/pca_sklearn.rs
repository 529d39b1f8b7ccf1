//! Two-component PCA against scikit-learn's `PCA(n_components=2)` on the cases that
//! `tools/make_pca_fixture.py` wrote (coordinates, components and variances from
//! scikit-learn, signs by its `svd_flip`).

mod common;
use common::floats;

use downstream::pca::pca2;
use serde_json::Value;

#[test]
fn pca_matches_scikit_learn() {
    let cases: Value =
        serde_json::from_slice(&common::read("tests/fixtures/pca/cases.json")).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let dim = case["dim"].as_u64().unwrap() as usize;
        let x: Vec<f32> = floats(&case["x"]).iter().map(|&v| v as f32).collect();
        let p = pca2(&x, dim).unwrap();
        assert!(
            p.converged,
            "{name}: not converged after {} iterations",
            p.iterations
        );
        assert_eq!(p.n, case["n"].as_u64().unwrap() as usize, "{name}");
        // Same signs as scikit-learn: compared as they are, no flipping.
        let d = common::max_abs_diff(&p.coords, &floats(&case["coords"]));
        assert!(d < 1e-6, "{name}: coordinates differ by {d}");
        let d = common::max_abs_diff(&p.components, &floats(&case["components"]));
        assert!(d < 1e-6, "{name}: components differ by {d}");
        let ev = floats(&case["explained_variance"]);
        let evr = floats(&case["explained_variance_ratio"]);
        for c in 0..2 {
            assert!(
                common::close(p.explained_variance[c], ev[c], 1e-9),
                "{name}: variance {c}: {} vs {}",
                p.explained_variance[c],
                ev[c]
            );
            assert!(
                common::close(p.explained_variance_ratio[c], evr[c], 1e-9),
                "{name}: ratio {c}"
            );
        }
    }
}

#[test]
fn pca_is_deterministic_and_checks_its_input() {
    let x: Vec<f32> = (0..300).map(|i| ((i * 37 % 101) as f32).sin()).collect();
    assert_eq!(pca2(&x, 6).unwrap(), pca2(&x, 6).unwrap());
    let err = pca2(&x, 7).unwrap_err().to_string();
    assert!(err.contains("whole rows of 7"), "{err}");
    let err = pca2(&x[..6], 6).unwrap_err().to_string();
    assert!(err.contains("at least 2 rows"), "{err}");
}
