//! Fit progress and cancel of the protocol presets: `Session::evaluate_with` reports every
//! probe fit as `(done, total)` with `total` known up front, stops between fits when the
//! callback says so, and gives the same report as `evaluate`. The expected totals are
//! counted here from each protocol's definition (PROTOCOLS.md and the doc comments of
//! src/protocol.rs), not taken from `ProtocolSpec::fit_count`.

use downstream::error::Error;
use downstream::protocol::ProtocolSpec;
use downstream::session::{EvalConfig, Session};

/// `rows` rows of 4 features in 3 overlapping classes (so the C searches have something to
/// choose), from a fixed linear congruential generator.
fn synthetic_csv(rows: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("a,b,c,d,label\n");
    for i in 0..rows {
        let class = i % 3;
        let row: Vec<String> = (0..4)
            .map(|j| {
                let centre = if j == class { 1.0 } else { 0.0 };
                let noise: f64 = (0..4).map(|_| uniform() - 0.5).sum();
                format!("{:.5}", centre + noise)
            })
            .collect();
        csv.push_str(&format!("{},class{class}\n", row.join(",")));
    }
    csv
}

/// A session with `rows` synthetic embeddings loaded.
fn session(rows: usize) -> Session {
    let mut s = Session::new();
    s.load_embeddings(synthetic_csv(rows).as_bytes(), "synthetic.csv", None)
        .unwrap();
    s
}

/// Rows for VTAB-1k, whose hold-out training part must hold 1,000; 240 for the others.
fn rows_for(protocol: &ProtocolSpec) -> usize {
    match protocol {
        ProtocolSpec::Vtab => 1300,
        _ => 240,
    }
}

fn config(protocol: ProtocolSpec) -> EvalConfig {
    EvalConfig {
        protocol,
        ..EvalConfig::default()
    }
}

/// Every protocol with its number of probe fits, counted from its definition.
fn protocols() -> Vec<(ProtocolSpec, usize)> {
    // CLIP: the 7-value starting grid, then 8 binary-search steps that each fit both ends
    // of the range, then the refit on train + val with the chosen C.
    let clip = 7 + 8 * 2 + 1;
    // DINOv2: C = 10^linspace(-6, 5, 45), then the refit.
    let dinov2 = 45 + 1;
    // SentEval: per outer fold, 6 Cs (2^-2..2^3) x `folds` inner folds, then the refit.
    let senteval = |folds: usize| folds * (6 * folds + 1);
    vec![
        (ProtocolSpec::Clip, clip),
        (ProtocolSpec::Dinov2, dinov2),
        // MTEB: n_experiments = 10 undersampled fits.
        (ProtocolSpec::Mteb, 10),
        // VTAB-1k: the CLIP search on train800 / val200, then the refit on all 1,000.
        (ProtocolSpec::Vtab, clip),
        (ProtocolSpec::Kfold { folds: 5 }, 5),
        (ProtocolSpec::Kfold { folds: 3 }, 3),
        (ProtocolSpec::Repeated { repeats: 4 }, 4),
        (
            ProtocolSpec::FewShot {
                shots: vec![1, 2, 4],
                seeds: 3,
            },
            3 * 3,
        ),
        (ProtocolSpec::Senteval { folds: 5 }, senteval(5)),
        (ProtocolSpec::Senteval { folds: 2 }, senteval(2)),
    ]
}

#[test]
fn every_protocol_reports_each_fit_once_with_the_total_up_front() {
    for (protocol, total) in protocols() {
        let name = protocol.name();
        let mut s = session(rows_for(&protocol));
        assert_eq!(protocol.fit_count(), total, "{name}: fit_count");
        let cfg = config(protocol);
        let plain = s.evaluate(&cfg, |_, _| true).unwrap().to_json();
        let mut calls = Vec::new();
        let watched = s
            .evaluate_with(
                &cfg,
                |_, _| true,
                |done, of| {
                    calls.push((done, of));
                    true
                },
            )
            .unwrap()
            .to_json();
        let want: Vec<(usize, usize)> = (1..=total).map(|d| (d, total)).collect();
        assert_eq!(calls, want, "{name}: progress calls");
        assert_eq!(watched, plain, "{name}: the report with progress differs");
        // The counts agree with what the report says was fit.
        let p = &s.report().unwrap().protocol;
        let searched: usize = p.c_searches.iter().map(|c| c.trials.len()).sum();
        match &cfg.protocol {
            ProtocolSpec::Clip | ProtocolSpec::Vtab | ProtocolSpec::Dinov2 => {
                assert_eq!(searched + 1, total, "{name}: trials + refit")
            }
            ProtocolSpec::Senteval { folds } => {
                assert_eq!(p.c_searches.len(), *folds);
                assert_eq!(searched * folds + p.runs.len(), total, "{name}");
            }
            _ => assert_eq!(p.runs.len(), total, "{name}: runs"),
        }
    }
}

#[test]
fn returning_false_after_the_second_fit_cancels_with_no_report() {
    for (protocol, total) in protocols() {
        let name = protocol.name();
        let mut s = session(rows_for(&protocol));
        let cfg = config(protocol);
        let mut calls = Vec::new();
        let err = s
            .evaluate_with(
                &cfg,
                |_, _| true,
                |done, of| {
                    calls.push((done, of));
                    done < 2
                },
            )
            .map(|r| r.to_json())
            .unwrap_err();
        assert_eq!(err, Error::Cancelled { done: 2, total }, "{name}");
        assert_eq!(
            err.to_string(),
            format!("cancelled after 2 of {total} probe fits")
        );
        assert_eq!(
            calls,
            [(1, total), (2, total)],
            "{name}: fits after the stop"
        );
        assert!(
            s.report().is_none(),
            "{name}: a cancelled run left a report"
        );
    }
    // After a finished run, a cancelled one keeps that report, and a next run works.
    let mut s = session(240);
    let kfold = config(ProtocolSpec::Kfold { folds: 5 });
    let done = s.evaluate(&kfold, |_, _| true).unwrap().to_json();
    let dinov2 = config(ProtocolSpec::Dinov2);
    let cancelled = s.evaluate_with(&dinov2, |_, _| true, |d, _| d < 2);
    assert!(matches!(cancelled, Err(Error::Cancelled { done: 2, .. })));
    assert_eq!(s.report().unwrap().to_json(), done);
    let again = s.evaluate(&kfold, |_, _| true).unwrap().to_json();
    assert_eq!(again, done);
}

#[test]
fn the_plain_holdout_reports_iterations_not_fits() {
    let mut s = session(240);
    let (mut fits, mut iterations) = (0, 0);
    s.evaluate_with(
        &EvalConfig::default(),
        |_, _| {
            iterations += 1;
            true
        },
        |_, _| {
            fits += 1;
            true
        },
    )
    .unwrap();
    assert_eq!(ProtocolSpec::Holdout.fit_count(), 0);
    assert_eq!(fits, 0);
    assert!(iterations > 0);
    assert_eq!(Some(iterations), s.report().unwrap().probe.iterations);
}
