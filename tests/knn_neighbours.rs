//! The neighbours behind a k-NN probe's votes: `knn::neighbours` on the digits split equals
//! scikit-learn's `KNeighborsClassifier(metric="cosine", algorithm="brute").kneighbors`
//! (`tests/fixtures/probes/knn_neighbours.json`, written by
//! `tools/make_knn_neighbours_fixture.py`), and `Session::neighbours` maps them to data-set
//! items whose votes give the report's prediction and confidence.

mod common;

use downstream::heads::ProbeSpec;
use downstream::knn::{self, KnnRule};
use downstream::probe::Features;
use downstream::protocol::ProtocolSpec;
use downstream::session::{EvalConfig, Session};
use serde_json::Value;

use common::{labels, matrix};

#[test]
fn neighbours_equal_scikit_learn_kneighbors_on_digits() {
    let (x_train, d) = matrix("tests/fixtures/probe/digits_X_train.npy");
    let (x_test, _) = matrix("tests/fixtures/probe/digits_X_test.npy");
    let y_train = labels("tests/fixtures/probe/digits_y_train.txt");
    let reference: Value =
        serde_json::from_slice(&common::read("tests/fixtures/probes/knn_neighbours.json")).unwrap();
    let temperature = reference["temperature"].as_f64().unwrap();
    let train = Features::new(&x_train, d, "train").unwrap();
    let test = Features::new(&x_test, d, "test").unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let k = case["k"].as_u64().unwrap() as usize;
        let rule = KnnRule::Weighted { k, temperature };
        let got = knn::neighbours(train, &y_train, test, 10, rule).unwrap();
        let votes = knn::neighbours(train, &y_train, test, 10, KnnRule::Vote { k }).unwrap();
        let rows: Vec<usize> = serde_json::from_value(case["test_rows"].clone()).unwrap();
        assert!(rows.len() > 300, "k = {k}: too few untied rows to compare");
        for (i, &r) in rows.iter().enumerate() {
            let want: Vec<usize> = serde_json::from_value(case["index"][i].clone()).unwrap();
            let sims: Vec<f64> = serde_json::from_value(case["similarity"][i].clone()).unwrap();
            let weights: Vec<f64> = serde_json::from_value(case["weight"][i].clone()).unwrap();
            let nb = &got[r];
            let rows_got: Vec<usize> = nb.iter().map(|n| n.row).collect();
            assert_eq!(rows_got, want, "k = {k}, test row {r}");
            let vote_rows: Vec<usize> = votes[r].iter().map(|n| n.row).collect();
            assert_eq!(vote_rows, want, "vote k = {k}, test row {r}");
            for ((n, &s), &w) in nb.iter().zip(&sims).zip(&weights) {
                assert!(
                    (f64::from(n.similarity) - s).abs() < 1e-5,
                    "row {r}: {n:?} vs {s}"
                );
                assert!(common::close(n.weight, w, 2e-4), "row {r}: {n:?} vs {w}");
                assert_eq!(n.label, y_train[n.row]);
            }
            assert!(votes[r].iter().all(|n| n.weight == 1.0));
        }
    }
}

/// The class the neighbours' summed weights pick (ties to the lowest class index), and
/// that class's share of the total.
fn vote_of(nb: &[downstream::session::NeighbourItem], n_classes: usize) -> (usize, f64) {
    let mut sums = vec![0.0f64; n_classes];
    for n in nb {
        sums[n.label] += n.weight;
    }
    let total: f64 = sums.iter().sum();
    let mut best = 0;
    for (c, &v) in sums.iter().enumerate() {
        if v > sums[best] {
            best = c;
        }
    }
    (best, sums[best] / total)
}

#[test]
fn session_neighbours_give_the_reports_predictions() {
    let mut s = Session::new();
    s.load_embeddings(
        &common::read("tests/fixtures/embeddings/iris.npz"),
        "iris.npz",
        None,
    )
    .unwrap();
    // Before any evaluation, and after a logistic regression, there are none.
    assert!(s.neighbours(0).is_err());
    let report = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
    let first_test = report.predictions.test_index[0];
    let err = s.neighbours(first_test).unwrap_err().to_string();
    assert!(err.contains("k-NN probe"), "{err}");
    for (probe, k) in [
        (ProbeSpec::KnnVote { k: 3 }, 3),
        (
            ProbeSpec::KnnWeighted {
                k: 20,
                temperature: 0.07,
            },
            20,
        ),
    ] {
        let cfg = EvalConfig {
            probe: Some(probe),
            ..EvalConfig::default()
        };
        let report = s.evaluate(&cfg, |_, _| true).unwrap().clone();
        let p = &report.predictions;
        let labels = s.report().unwrap().predictions.y_true.clone();
        assert_eq!(labels.len(), p.test_index.len());
        for (pos, &item) in p.test_index.iter().enumerate() {
            let nb = s.neighbours(item).unwrap();
            assert_eq!(nb.len(), k, "{probe:?}");
            // Neighbours are training items, most similar first.
            assert!(nb.iter().all(|n| !p.test_index.contains(&n.item_index)));
            assert!(nb.windows(2).all(|w| w[0].similarity >= w[1].similarity));
            let (pred, confidence) = vote_of(&nb, report.data.classes.len());
            assert_eq!(pred, p.y_pred[pos], "{probe:?}, item {item}");
            assert!((confidence - p.confidence[pos]).abs() < 1e-12);
        }
        // An item that is not a test item is refused.
        let train_item = nb_train_item(&s, p.test_index[0]);
        assert!(s.neighbours(train_item).is_err());
        assert!(s.neighbours(10_000).is_err());
    }
    // Another protocol: the test items' training sets differ, so none are kept.
    let cfg = EvalConfig {
        probe: Some(ProbeSpec::KnnVote { k: 3 }),
        protocol: ProtocolSpec::Kfold { folds: 5 },
        ..EvalConfig::default()
    };
    s.evaluate(&cfg, |_, _| true).unwrap();
    assert!(s.neighbours(0).is_err());
}

fn nb_train_item(s: &Session, test_item: usize) -> usize {
    s.neighbours(test_item).unwrap()[0].item_index
}
