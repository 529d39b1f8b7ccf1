//! t-SNE (src/tsne.rs, bhtsne's Barnes-Hut fit) against scikit-learn's
//! `TSNE(n_components=2, init='pca', random_state=0, perplexity=30)` on 300 digits rows, from
//! the references `tools/make_tsne_fixture.py` wrote to tests/fixtures/tsne/. Two different
//! optimisers do not give the same coordinates, so the quality of the map is compared:
//! scikit-learn's `trustworthiness(X, coords, n_neighbors=5)` (implemented here, and first
//! checked to reproduce scikit-learn's own value on scikit-learn's coordinates) and the
//! leave-one-out 1-NN accuracy of the labels in the 2-D map.

mod common;
use common::floats;

use downstream::tsne::{tsne2, tsne2_with_progress, Tsne, TsneOptions};
use downstream::Error;
use serde_json::Value;

const X: &str = "tests/fixtures/tsne/digits_X.npy";
const Y: &str = "tests/fixtures/tsne/digits_y.npy";
const REF: &str = "tests/fixtures/tsne/reference.json";

fn reference() -> Value {
    serde_json::from_slice(&common::read(REF)).unwrap()
}

fn labels() -> Vec<i64> {
    let a = downstream::npy::read(&common::read(Y), Y).unwrap();
    a.data.iter().map(|&v| v as i64).collect()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Row `i`'s other rows, nearest first (ties to the lower index).
fn ranked(rows: &[Vec<f64>], i: usize) -> Vec<usize> {
    let d: Vec<f64> = rows.iter().map(|r| sq_dist(&rows[i], r)).collect();
    let mut order: Vec<usize> = (0..rows.len()).filter(|&j| j != i).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    order
}

fn rows(x: &[f64], dim: usize) -> Vec<Vec<f64>> {
    x.chunks_exact(dim).map(<[f64]>::to_vec).collect()
}

/// scikit-learn's `sklearn.manifold.trustworthiness(X, E, n_neighbors=k)`:
/// `1 − 2 / (n k (2n − 3k − 1)) · Σᵢ Σ_{j ∈ N_k^E(i)} max(0, r(i, j) − k)`, with `r(i, j)` the
/// rank (from 1) of `j` among `i`'s neighbours in the input space.
fn trustworthiness(x: &[f64], dim: usize, e: &[f64], k: usize) -> f64 {
    let xr = rows(x, dim);
    let er = rows(e, 2);
    let n = xr.len();
    let mut t = 0.0;
    for i in 0..n {
        let mut rank = vec![0usize; n];
        for (r, j) in ranked(&xr, i).into_iter().enumerate() {
            rank[j] = r + 1;
        }
        for j in ranked(&er, i).into_iter().take(k) {
            t += rank[j].saturating_sub(k) as f64;
        }
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - t * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

/// Leave-one-out 1-NN accuracy of `y` in the 2-D coordinates `e`.
fn one_nn_accuracy(e: &[f64], y: &[i64]) -> f64 {
    let er = rows(e, 2);
    let hits = (0..er.len())
        .filter(|&i| y[ranked(&er, i)[0]] == y[i])
        .count();
    hits as f64 / er.len() as f64
}

fn digits() -> (Vec<f32>, usize) {
    common::matrix(X)
}

fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| f64::from(a)).collect()
}

fn run_digits() -> Tsne {
    let (x, dim) = digits();
    tsne2(&x, dim, &TsneOptions::default()).unwrap()
}

#[test]
fn trustworthiness_yardstick_reproduces_scikit_learn() {
    let r = reference();
    let (x, dim) = digits();
    let sk = floats(&r["coords"]);
    let ours = trustworthiness(&wide(&x), dim, &sk, 5);
    let theirs = r["trustworthiness"].as_f64().unwrap();
    assert!(
        (ours - theirs).abs() < 1e-6,
        "trustworthiness of scikit-learn's map: ours {ours}, scikit-learn {theirs}"
    );
    let acc = one_nn_accuracy(&sk, &labels());
    let theirs = r["one_nn_accuracy"].as_f64().unwrap();
    assert!(
        (acc - theirs).abs() < 1e-12,
        "1-NN accuracy of scikit-learn's map: ours {acc}, reference {theirs}"
    );
}

/// Measured (scikit-learn 1.9.1, bhtsne 0.7.13): trustworthiness 0.992532 (scikit-learn 0.992546),
/// 1-NN accuracy 0.9967 (0.9900), KL 0.3310 (scikit-learn's estimate 0.3170).
#[test]
fn map_is_as_trustworthy_as_scikit_learns() {
    let r = reference();
    let (x, dim) = digits();
    let t = run_digits();
    assert_eq!((t.n, t.dim, t.coords.len()), (300, 64, 600));
    assert_eq!(t.perplexity, 30.0);
    assert_eq!(t.neighbours, 91);
    assert_eq!(t.iterations, 1000);
    assert_eq!(t.method, "barnes-hut");
    let e = wide(&t.coords);
    let ours = trustworthiness(&wide(&x), dim, &e, 5);
    let theirs = r["trustworthiness"].as_f64().unwrap();
    let acc = one_nn_accuracy(&e, &labels());
    let acc_sk = r["one_nn_accuracy"].as_f64().unwrap();
    println!(
        "trustworthiness ours {ours:.6} scikit-learn {theirs:.6}; 1-NN accuracy ours {acc:.4} \
         scikit-learn {acc_sk:.4}; KL ours {:?} scikit-learn {}",
        t.kl_divergence, r["kl_divergence"]
    );
    assert!(
        ours >= theirs - 0.02,
        "trustworthiness {ours} vs scikit-learn {theirs}"
    );
    assert!(
        acc >= acc_sk - 0.05,
        "1-NN accuracy {acc} vs scikit-learn {acc_sk}"
    );
    // Our KL is exact over bhtsne's P; scikit-learn's is its Barnes-Hut estimate over its P.
    let kl = t.kl_divergence.unwrap();
    let kl_sk = r["kl_divergence"].as_f64().unwrap();
    assert!(
        kl > 0.0 && kl < kl_sk + 0.05,
        "KL {kl} vs scikit-learn {kl_sk}"
    );
}

#[test]
fn same_input_gives_the_same_bytes() {
    let a = run_digits();
    let (x, dim) = digits();
    let mut epochs = Vec::new();
    let b = tsne2_with_progress(&x, dim, &TsneOptions::default(), |done, total| {
        epochs.push((done, total))
    })
    .unwrap();
    let bits = |t: &Tsne| t.coords.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(epochs.len(), 1000);
    assert_eq!(epochs.first(), Some(&(1, 1000)));
    assert_eq!(epochs.last(), Some(&(1000, 1000)));
}

#[test]
fn small_sets_clamp_the_perplexity() {
    let (x, dim) = digits();
    // 10 rows: bhtsne needs 3·⌊perplexity⌋ ≤ n − 1, so 30 becomes 9 / 3 = 3.
    let t = tsne2(&x[..10 * dim], dim, &TsneOptions::default()).unwrap();
    assert_eq!(t.perplexity, 3.0);
    assert_eq!(t.neighbours, 9);
    assert!(t.coords.iter().all(|v| v.is_finite()));
    // The smallest accepted set, and duplicate rows.
    let mut four = x[..3 * dim].to_vec();
    four.extend_from_slice(&x[..dim]);
    let t = tsne2(&four, dim, &TsneOptions::default()).unwrap();
    assert_eq!(t.perplexity, 1.0);
    assert!(t.coords.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_input_gets_a_typed_error() {
    let (x, dim) = digits();
    let opts = TsneOptions::default();
    let msg = |r: Result<Tsne, Error>| r.unwrap_err().to_string();
    assert_eq!(
        msg(tsne2(&x[..3 * dim], dim, &opts)),
        "invalid rows = 3: t-SNE needs at least 4 rows"
    );
    assert_eq!(
        msg(tsne2(&x[..10 * dim], 7, &opts)),
        "invalid embedding dimension = 7: 640 values do not make whole rows of 7"
    );
    assert_eq!(
        msg(tsne2(&x[..10 * dim], 0, &opts)),
        "invalid embedding dimension = 0: 640 values do not make whole rows of 0"
    );
    let mut nan = x[..10 * dim].to_vec();
    nan[2 * dim + 5] = f32::NAN;
    assert_eq!(
        msg(tsne2(&nan, dim, &opts)),
        "embeddings contains a non-finite value (NaN) at row 2, column 5"
    );
    nan[2 * dim + 5] = f32::INFINITY;
    assert!(msg(tsne2(&nan, dim, &opts)).contains("non-finite value (inf) at row 2, column 5"));
    let same: Vec<f32> = x[..dim].repeat(8);
    assert_eq!(
        msg(tsne2(&same, dim, &opts)),
        "invalid embeddings = 8 identical rows: t-SNE needs at least two different rows"
    );
    for perplexity in [0.5, 0.0, -3.0, f32::NAN, f32::INFINITY] {
        let o = TsneOptions {
            perplexity,
            ..opts.clone()
        };
        assert!(
            msg(tsne2(&x[..10 * dim], dim, &o)).starts_with("invalid perplexity = "),
            "{perplexity}"
        );
    }
    for iterations in [0, 249, 100_001] {
        let o = TsneOptions {
            iterations,
            ..opts.clone()
        };
        assert_eq!(
            msg(tsne2(&x[..10 * dim], dim, &o)),
            format!(
                "invalid iterations = {iterations}: must be between 250 and 100000 \
                 (scikit-learn's default is 1000)"
            )
        );
    }
}
