// The benchmark's text binding (wasm `TextEmbedder`, src/wasm.rs): MiniLM on the 135 TREC-6
// questions of tests/fixtures/text-eval, tokenised once and embedded with embed_tokens, gives
// the page's text path (Session.load_text_model + load_text_data + embed_step) embeddings, and
// evaluated through the session (seed 0) the CLI's `eval --tokenizer` predictions (whose numbers
// tests/text_eval.rs checks against scikit-learn, tools/make_text_eval_fixture.py).
//
// Needs: pkg/ (make build), models/minilm (make models) and
// target/e2e/text-trec-small-report.json (make e2e-reports).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TEST_TIMEOUT, openPage, readReport, requireFile, useBrowser } from './helpers.mjs';

useBrowser();

test('TextEmbedder.embed_tokens gives the page text path embeddings and the CLI report', { timeout: 2 * TEST_TIMEOUT }, async (t) => {
  const report = readReport('text-trec-small-report.json');
  requireFile('models/minilm/model.onnx', 'build it with `make models`');
  requireFile('models/minilm/tokenizer.json', 'build it with `make models`');
  const questions = readFileSync(requireFile('tests/fixtures/text-eval/trec_small.jsonl', 'committed'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).question);
  assert.equal(questions.length, 135);

  const { context, page, problems } = await openPage('', { wait: null });
  try {
    const r = await page.evaluate(async (texts) => {
      // Text encoders run in the full build (the image build has no tokenizer).
      const wasm = await import('/pkg/downstream_full.js');
      await wasm.default();
      const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
      const model = await bytes('/models/minilm/model.onnx');
      const tokenizer = await bytes('/models/minilm/tokenizer.json');

      // The page's path: a session with the text model and the CSV, embedded step by step.
      const session = new wasm.Session();
      session.load_text_model(model, tokenizer, 'model.onnx', null);
      session.load_text_data(await bytes('/tests/fixtures/text-eval/trec_small.csv'), 'trec_small.csv');
      const n = session.embed_begin();
      while (session.embed_step(64) < n);
      const pageEmb = session.embeddings();

      // The binding: tokenise once, embed the ids, in batches of 32 in input order and as one batch.
      const enc = new wasm.TextEmbedder(model, tokenizer, 'model.onnx');
      const info = enc.info();
      const batches = [];
      for (let s = 0; s < texts.length; s += 32) {
        const t = enc.tokenize(texts.slice(s, s + 32));
        batches.push(enc.embed_tokens(t.input_ids, t.attention_mask, t.token_type_ids, t.rows, t.len));
      }
      const batched = new Float32Array(texts.length * info.embedding_dim);
      batches.forEach((b, i) => batched.set(b, i * 32 * info.embedding_dim));
      const all = enc.tokenize(texts);
      const ids = all.input_ids;
      const mask = all.attention_mask;
      const types = all.token_type_ids;
      const whole = enc.embed_tokens(ids, mask, types, all.rows, all.len);

      // Through the session's probe: the CLI report's split and predictions.
      session.set_embeddings(batched);
      const evaluated = session.evaluate({ seed: 0 });

      const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      const norms = [];
      for (let i = 0; i < texts.length; i++) {
        norms.push(Math.hypot(...batched.subarray(i * info.embedding_dim, (i + 1) * info.embedding_dim)));
      }
      const rows = [];
      for (let i = 0; i < all.rows; i++) {
        const row = Array.from(ids.subarray(i * all.len, (i + 1) * all.len), Number);
        const m = Array.from(mask.subarray(i * all.len, (i + 1) * all.len), Number);
        const used = m.reduce((a, b) => a + b, 0);
        rows.push({ first: row[0], last: row[used - 1], maskPrefix: m.every((v, k) => v === (k < used ? 1 : 0)), padZero: row.slice(used).every((v) => v === 0) });
      }
      let bad = null;
      try {
        enc.embed_tokens(ids.subarray(1), mask, types, all.rows, all.len);
      } catch (err) {
        bad = String(err.message ?? err);
      }
      return {
        info: { dim: info.embedding_dim, pooling: info.options.pooling, normalize: info.options.normalize, max_length: info.options.max_length },
        shape: [all.rows, all.len, ids.length, ids.constructor.name, whole.length],
        types: Array.from(types).every((v) => v === 0n),
        rows,
        diffBatched: maxAbs(batched, pageEmb),
        diffWhole: maxAbs(whole, pageEmb),
        pageLen: pageEmb.length,
        norms: [Math.min(...norms), Math.max(...norms)],
        predictions: evaluated.predictions,
        bad,
      };
    }, questions);

    t.diagnostic(`max |diff| vs the page: batches of 32 ${r.diffBatched}, one batch of ${r.shape[1]} tokens ${r.diffWhole}`);
    assert.deepEqual(r.info, { dim: 384, pooling: 'mean', normalize: true, max_length: 256 });
    const [rows, len, idCount, idType, outLen] = r.shape;
    assert.equal(rows, 135);
    assert.equal(idCount, rows * len);
    assert.equal(idType, 'BigInt64Array');
    assert.equal(outLen, 135 * 384);
    assert.equal(r.pageLen, 135 * 384);
    assert.ok(r.types, 'token_type_ids are all 0 for single sentences');
    // BERT word pieces: [CLS] = 101 first, [SEP] = 102 last, the mask a prefix of ones, padding 0.
    r.rows.forEach((row, i) => assert.deepEqual(row, { first: 101, last: 102, maskPrefix: true, padZero: true }, `row ${i}`));
    // Same wasm, same ids; only the padded length of a batch differs (tract's kernels tile by shape).
    assert.ok(r.diffBatched <= 1e-5, `batches of 32 vs the page: max |diff| ${r.diffBatched}`);
    assert.ok(r.diffWhole <= 1e-5, `one batch vs the page: max |diff| ${r.diffWhole}`);
    assert.ok(r.norms[0] > 1 - 1e-5 && r.norms[1] < 1 + 1e-5, `L2 norms ${r.norms}`);
    for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(r.predictions[key], report.predictions[key], key);
    r.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - report.predictions.confidence[i]) <= 1e-4, `confidence ${i}: ${c}`));
    assert.equal(r.bad, `input_ids values for 135 × ${len}: expected ${135 * len}, got ${135 * len - 1}`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
