//! Statistics against scipy / statsmodels numbers that `tools/make_probe_suite_fixtures.py`
//! wrote to `tests/fixtures/probes/stats.json` (versions recorded there).

mod common;

use downstream::stats::{self, BootstrapConfig, CiMethod};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_slice(&common::read("tests/fixtures/probes/stats.json")).unwrap()
}

#[test]
fn mcnemar_equals_scipy_and_statsmodels() {
    let f = fixture();
    for case in f["mcnemar"].as_array().unwrap() {
        let (b, c) = (case["b"].as_u64().unwrap(), case["c"].as_u64().unwrap());
        let got = stats::mcnemar_counts(b, c, b + c + 100);
        let name = format!("b={b} c={c}");
        assert_eq!(got.method, case["method"].as_str().unwrap(), "{name}");
        let want_p = case["p_value"].as_f64().unwrap();
        // exact: scipy.stats.binomtest(b, b + c, 0.5); else scipy.stats.chi2.sf of
        // (|b - c| - 1)^2 / (b + c) with 1 degree of freedom; both equal statsmodels' mcnemar.
        assert!(
            common::close(got.p_value, want_p, 1e-9),
            "{name}: p {} vs {want_p}",
            got.p_value
        );
        let want_s = case["statistic"].as_f64().unwrap();
        assert!(
            common::close(got.statistic, want_s, 1e-12),
            "{name}: statistic {}",
            got.statistic
        );
    }
    // From predictions: b = only A right, c = only B right.
    let y = [0, 1, 2, 0, 1, 2];
    let a = [0, 1, 2, 1, 1, 0];
    let b = [0, 0, 2, 0, 2, 2];
    let m = stats::mcnemar(&y, &a, &b).unwrap();
    assert_eq!((m.b, m.c, m.n), (2, 2, 6));
}

#[test]
fn bootstrap_agrees_with_scipy_in_distribution() {
    let f = fixture();
    let x: Vec<f64> = serde_json::from_value(f["bootstrap_sample"].clone()).unwrap();
    // Same statistic (the mean of a 0/1 vector of 200), resample count (9,999) and level
    // as scipy.stats.bootstrap, but a different generator (ChaCha8 vs numpy's PCG64): the
    // endpoints are random variables, so they agree only to about the Monte Carlo error
    // (sd of an endpoint ~ 0.004 here); we allow 0.015.
    for (method, key) in [
        (CiMethod::Percentile, "bootstrap_percentile"),
        (CiMethod::Bca, "bootstrap_bca"),
    ] {
        let want: Vec<f64> = serde_json::from_value(f[key].clone()).unwrap();
        for seed in [0, 1, 2] {
            let cfg = BootstrapConfig {
                method,
                seed,
                ..Default::default()
            };
            assert_eq!(cfg.resamples, 9_999);
            let ci = stats::bootstrap_ci(x.len(), &cfg, |idx| {
                idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64
            })
            .unwrap();
            for (g, w) in ci.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 0.015,
                    "{key} seed {seed}: {ci:?} vs scipy {want:?}"
                );
            }
            let again = stats::bootstrap_ci(x.len(), &cfg, |idx| {
                idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64
            })
            .unwrap();
            assert_eq!(ci, again, "seeded");
        }
    }
    let p = &f["percentile"];
    let mut v: Vec<f64> = serde_json::from_value(p["values"].clone()).unwrap();
    v.sort_by(f64::total_cmp);
    let q: Vec<f64> = serde_json::from_value(p["q"].clone()).unwrap();
    let want: Vec<f64> = serde_json::from_value(p["expected"].clone()).unwrap();
    for (q, w) in q.iter().zip(&want) {
        let g = stats::percentile_sorted(&v, *q);
        assert!(
            common::close(g, *w, 1e-12),
            "np.percentile q={q}: {g} vs {w}"
        );
    }
}

#[test]
fn headline_and_paired_intervals() {
    let y: Vec<usize> = (0..100).map(|i| i % 3).collect();
    let a: Vec<usize> = y
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 5 == 0 { (t + 1) % 3 } else { t })
        .collect();
    let b: Vec<usize> = y
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 3 == 0 { (t + 1) % 3 } else { t })
        .collect();
    let cfg = BootstrapConfig {
        resamples: 1000,
        ..Default::default()
    };
    let ci = stats::headline_ci(&y, &a, 3, &cfg).unwrap();
    assert_eq!(
        (ci.method.as_str(), ci.resamples, ci.level),
        ("percentile", 1000, 0.95)
    );
    assert!(ci.accuracy[0] < 0.8 && 0.8 < ci.accuracy[1], "{ci:?}");
    assert!(ci.macro_f1[0] <= ci.macro_f1[1]);
    let d = stats::paired_bootstrap(&y, &a, &b, &cfg).unwrap();
    assert!((d.difference - (0.8 - 0.66)).abs() < 1e-12, "{d:?}");
    assert!(d.ci[0] < d.difference && d.difference < d.ci[1], "{d:?}");
}

#[test]
fn bad_inputs_are_refused_with_their_message() {
    let base = BootstrapConfig::default();
    let mean = |idx: &[usize]| idx.len() as f64;
    let cases: Vec<(&str, downstream::Result<()>, &str)> = vec![
        (
            "no samples",
            stats::bootstrap_ci(0, &base, mean).map(drop),
            "invalid samples = 0: a bootstrap needs at least one sample",
        ),
        (
            "one resample",
            stats::bootstrap_ci(
                5,
                &BootstrapConfig {
                    resamples: 1,
                    ..base
                },
                mean,
            )
            .map(drop),
            "invalid resamples = 1: a bootstrap needs at least 2 resamples",
        ),
        (
            "level 1",
            stats::bootstrap_ci(5, &BootstrapConfig { level: 1.0, ..base }, mean).map(drop),
            "invalid confidence level = 1: must be between 0 and 1 (exclusive)",
        ),
        (
            "NaN level",
            stats::bootstrap_ci(
                5,
                &BootstrapConfig {
                    level: f64::NAN,
                    ..base
                },
                mean,
            )
            .map(drop),
            "invalid confidence level = NaN: must be between 0 and 1 (exclusive)",
        ),
        (
            "lengths",
            stats::headline_ci(&[0, 1], &[0], 2, &base).map(drop),
            "predicted labels vs true labels: expected 2, got 1",
        ),
        (
            "label outside",
            stats::headline_ci(&[0, 3], &[0, 1], 2, &base).map(drop),
            "invalid label index = 3: outside the label list",
        ),
        (
            "McNemar lengths",
            stats::mcnemar(&[0, 1], &[0, 1], &[0]).map(drop),
            "B predictions vs true labels: expected 2, got 1",
        ),
        (
            "McNemar empty",
            stats::mcnemar(&[], &[], &[]).map(drop),
            "invalid test items = 0: nothing to compare",
        ),
        (
            "paired empty",
            stats::paired_bootstrap(&[], &[], &[], &base).map(drop),
            "invalid samples = 0: a bootstrap needs at least one sample",
        ),
    ];
    for (name, got, message) in cases {
        assert_eq!(got.expect_err(name).to_string(), message, "{name}");
    }
}
