//! Every metric against scikit-learn, on the cases `tools/make_metric_fixtures.py`
//! computed with scikit-learn (version recorded in the fixture).

mod common;

use downstream::metrics::{self, Proba};
use serde_json::Value;

fn check(name: &str, key: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: {key} missing"));
    assert!(
        common::close(got, want, 1e-9),
        "{name}: {key} = {got}, scikit-learn {want}"
    );
}

#[test]
fn metrics_equal_scikit_learn() {
    let cases: Vec<Value> =
        serde_json::from_slice(&common::read("tests/fixtures/metrics/cases.json")).unwrap();
    assert!(cases.len() >= 10);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let strings = |k: &str| -> Vec<String> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let (labels, t, p) = metrics::encode_labels(&strings("y_true"), &strings("y_pred"));
        let proba: Option<Vec<f64>> = case["proba"].as_array().map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect()
        });
        let m = metrics::evaluate(
            &t,
            &p,
            &labels,
            proba.as_deref().map(|values| Proba {
                values,
                n_classes: labels.len(),
            }),
        )
        .unwrap();
        let e = &case["expected"];
        for (key, got) in [
            ("accuracy", m.accuracy),
            ("balanced_accuracy", m.balanced_accuracy),
            ("macro_precision", m.macro_precision),
            ("macro_recall", m.macro_recall),
            ("macro_f1", m.macro_f1),
            ("weighted_f1", m.weighted_f1),
            ("mcc", m.mcc),
            ("cohen_kappa", m.cohen_kappa),
        ] {
            check(name, key, got, &e[key]);
        }
        let cm = &e["confusion_matrix"];
        let want_labels: Vec<String> = serde_json::from_value(cm["labels"].clone()).unwrap();
        let want_matrix: Vec<Vec<u64>> = serde_json::from_value(cm["matrix"].clone()).unwrap();
        assert_eq!(
            m.confusion_matrix.labels, want_labels,
            "{name}: label order"
        );
        assert_eq!(
            m.confusion_matrix.matrix, want_matrix,
            "{name}: confusion matrix"
        );
        for (label, scores) in e["per_class"].as_object().unwrap() {
            let got = &m.per_class[label];
            check(
                name,
                &format!("{label}.precision"),
                got.precision,
                &scores["precision"],
            );
            check(
                name,
                &format!("{label}.recall"),
                got.recall,
                &scores["recall"],
            );
            check(name, &format!("{label}.f1"), got.f1, &scores["f1"]);
            assert_eq!(
                Some(got.support),
                scores["support"].as_u64(),
                "{name}: {label} support"
            );
        }
        for (key, got) in [
            ("log_loss", m.log_loss),
            ("roc_auc_ovr_macro", m.roc_auc_ovr_macro),
            ("top_2_accuracy", m.top_2_accuracy),
        ] {
            match (got, e.get(key)) {
                (Some(g), Some(w)) => check(name, key, g, w),
                (None, None) => {}
                (g, w) => panic!("{name}: {key}: got {g:?}, scikit-learn {w:?}"),
            }
        }
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            !json.contains("NaN") && !json.contains("null"),
            "{name}: {json}"
        );
    }
}
