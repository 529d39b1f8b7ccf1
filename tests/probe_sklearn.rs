//! The logistic-regression probe against scikit-learn's `LogisticRegression` on the
//! digits split that `tools/make_probe_fixtures.py` wrote (numbers from scikit-learn).

mod common;

use downstream::probe::{self, Features, LogRegConfig};
use serde_json::Value;

use common::{labels, matrix};

#[test]
fn logistic_regression_matches_scikit_learn_on_digits() {
    let reference: Value =
        serde_json::from_slice(&common::read("tests/fixtures/probe/digits_logreg.json")).unwrap();
    let (x_train, d) = matrix("tests/fixtures/probe/digits_X_train.npy");
    let (x_test, _) = matrix("tests/fixtures/probe/digits_X_test.npy");
    let y_train = labels("tests/fixtures/probe/digits_y_train.txt");
    let y_test = labels("tests/fixtures/probe/digits_y_test.txt");
    for c in ["0.01", "1.0", "100.0"] {
        let cfg = LogRegConfig {
            c: c.parse().unwrap(),
            ..Default::default()
        };
        let train = Features::new(&x_train, d, "train").unwrap();
        let model = probe::fit(train, &y_train, 10, &cfg, |_, _| true).unwrap();
        assert!(
            model.converged,
            "C={c}: not converged in {} iterations",
            model.iterations
        );
        let proba = model
            .predict_proba(Features::new(&x_test, d, "test").unwrap())
            .unwrap();
        let pred = probe::argmax_rows(&proba, 10);
        let acc =
            pred.iter().zip(&y_test).filter(|(a, b)| a == b).count() as f64 / y_test.len() as f64;
        // Same solver settings as ours (lbfgs, tol 1e-6): scikit-learn's numbers at that tol.
        let sk_acc = reference["accuracy_by_C_tol_1e-6"][c].as_f64().unwrap();
        assert!(
            (acc - sk_acc).abs() <= 0.005,
            "C={c}: accuracy {acc} vs scikit-learn {sk_acc}"
        );
        // The objective must be no worse than scikit-learn's at that tol (to 1e-6 relative)
        // and no lower than the tight minimum (scipy L-BFGS-B, gtol 1e-10) it recorded.
        let sk_obj = reference["objective_by_C_tol_1e-6"][c].as_f64().unwrap();
        let min_obj = reference["objective_min_by_C"][c].as_f64().unwrap();
        assert!(
            model.objective <= sk_obj * (1.0 + 1e-6),
            "C={c}: objective {} > scikit-learn's {sk_obj}",
            model.objective
        );
        assert!(
            model.objective >= min_obj * (1.0 - 1e-9),
            "C={c}: objective {} below the minimum {min_obj}",
            model.objective
        );
    }
}
