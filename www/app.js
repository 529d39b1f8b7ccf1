// Page entry: wires the controls to the worker and renders what comes back.

import { WorkerError } from './client.js';
import { Engine, poolSize } from './engine.js';
import { ModelPanel } from './modelpanel.js';
import {
  calibrationSvg,
  classOrder,
  confusionMatrixSvg,
  diffMatrixSvg,
  fewShotPoints,
  learningCurveSvg,
  lossCurveSvg,
  normalizeMatrix,
  perClassBarsSvg,
  pickCurveClasses,
  prCurvesSvg,
  rocCurvesSvg,
  scatterSvg,
} from './charts.js';
import { htmlReport, reportCharts } from './htmlreport.js';
import { downloadBlob, droppedFromHash, droppedText, matrixCsv, reportFragment, reportFromHash, svgText, svgToPngBlob } from './share.js';
import {
  etaText,
  fmt,
  probeText,
  renderDataInfo,
  renderGallery,
  renderMetricHelp,
  renderNeighbours,
  renderMetrics,
  renderModelInfo,
  renderPerClassTable,
  renderRunInfo,
  renderSupportWarning,
  renderWarnings,
  setProgress,
} from './views.js';

const DEMO_MODEL_URL = new URL('../assets/demo/encoder.onnx', import.meta.url).href;
const DEMO_DATA_URL = new URL('../assets/demo/digits.zip', import.meta.url).href;
/** The text demo: all-MiniLM-L6-v2 from `make models` (served when built) on TREC-6 questions. */
const TEXT_DEMO_MODEL_URL = new URL('../models/minilm/model.onnx', import.meta.url).href;
const TEXT_DEMO_TOKENIZER_URL = new URL('../models/minilm/tokenizer.json', import.meta.url).href;
const TEXT_DEMO_DATA_URL = new URL('../assets/text-demo/trec6_sample.csv', import.meta.url).href;
/**
 * Model presets (data-testid=model-preset). EfficientNet-Lite0 (from `make models`, offered when
 * served) takes RGB in [0, 1] at 224×224 and normalises inside its graph (tools/convert_efficientnet.py),
 * so its preprocessing is [0, 1], stretched, RGB; MiniLM-L6 is the Text demo.
 */
const MODEL_PRESETS = {
  'demo-mlp': { label: 'Demo MLP (assets/demo)', url: DEMO_MODEL_URL },
  'efficientnet-lite0': {
    label: 'EfficientNet-Lite0 (ImageNet, 1280-d)',
    url: new URL('../models/efficientnet-lite0/model.onnx', import.meta.url).href,
    probe: new URL('../models/efficientnet-lite0/model.onnx', import.meta.url).href,
    preprocess: { resize: 'stretch', crop_ratio: 0.875, color: 'rgb', scale: 'zero-one', mean: [], std: [] },
    output: 'embedding',
  },
  minilm: { label: 'MiniLM-L6 (text)', text: true, probe: TEXT_DEMO_TOKENIZER_URL },
};

const $ = (id) => document.getElementById(id);
const ui = {
  runDemo: $('run-demo'),
  modelInput: $('model-input'),
  dataInput: $('data-input'),
  dataFolder: $('data-folder'),
  manifestFile: $('manifest-file'),
  textModelFile: $('text-model-file'),
  tokenizerFile: $('tokenizer-file'),
  textPooling: $('text-pooling'),
  textNormalize: $('text-normalize'),
  textDataFile: $('text-data-file'),
  textDemo: $('text-demo'),
  modelPreset: $('model-preset'),
  embeddingsInput: $('embeddings-input'),
  seed: $('seed'),
  testFraction: $('test-fraction'),
  c: $('c'),
  probeKind: $('probe-kind'),
  headField: $('head-field'),
  headFile: $('head-file'),
  protocol: $('protocol'),
  run: $('run'),
  cancel: $('cancel'),
  progress: $('progress'),
  progressText: $('progress-text'),
  status: $('status'),
  error: $('error'),
  modelInfo: $('model-info'),
  dataInfo: $('data-info'),
  results: $('results'),
  resultsNote: $('results-note'),
  metrics: $('metrics'),
  warnings: $('warnings'),
  runInfo: $('run-info'),
  matrix: $('confusion-matrix'),
  perClass: $('per-class-table'),
  perClassChart: $('per-class-chart'),
  download: $('download-report'),
  downloadHtml: $('download-html'),
  shareLink: $('share-link'),
  shareBox: $('share-box'),
  shareUrl: $('share-url'),
  shareNote: $('share-note'),
  reportInput: $('report-input'),
  reportSource: $('report-source'),
  fetchNote: $('fetch-note'),
  metricHelp: $('metric-help'),
  supportWarning: $('support-warning'),
  cmNormalize: $('cm-normalize'),
  cmSort: $('cm-sort'),
  gallery: $('sample-gallery'),
  cacheNote: $('cache-note'),
  clearCache: $('clear-cache'),
  curvesBlock: $('curves-block'),
  curveClasses: $('curve-classes'),
  prCurves: $('pr-curves'),
  rocCurves: $('roc-curves'),
  calibration: $('calibration-chart'),
  trainingBlock: $('training-block'),
  lossFigure: $('loss-figure'),
  lossChart: $('loss-chart'),
  learningFigure: $('learning-figure'),
  learningChart: $('learning-chart'),
  scatterBlock: $('scatter-block'),
  scatter: $('embedding-scatter'),
  scatterNote: $('scatter-note'),
  mapMethod: $('map-method'),
  mapPerplexity: $('map-perplexity'),
  mapPerplexityField: $('map-perplexity-field'),
  compareStart: $('compare-start'),
  compareHint: $('compare-hint'),
  compareView: $('compare-view'),
  cmZoomIn: $('cm-zoom-in'),
  cmZoomOut: $('cm-zoom-out'),
  cmZoomFit: $('cm-zoom-fit'),
  cmZoomLevel: $('cm-zoom-level'),
};

/** Zoom steps of the confusion matrix (1 = the chart's own size); 'fit' shrinks it to the width. */
const CM_ZOOMS = [0.5, 0.75, 1, 1.5, 2, 3, 4];

/** Bootstrap resamples and seed of the compare view: the CLI's `compare` defaults. */
const COMPARE_RESAMPLES = 9_999;
const COMPARE_SEED = 0;

const params = new URLSearchParams(location.search);
const TEST_HOOKS = params.get('test-hooks') === '1';

const state = {
  ready: false,
  busy: 0,
  /** Function that stops the running job (the Cancel button), or null. */
  cancellable: null,
  hasError: false,
  model: null,
  data: null,
  report: null,
  reportJson: null,
  /** When embedding started (performance.now()), for the time-left estimate. */
  embedStart: null,
  /** When the probe fits of a protocol started (performance.now()), for its time left. */
  fitStart: null,
  /** Bumped whenever the gallery changes, so late thumbnails are dropped. */
  galleryToken: 0,
  galleryUrls: [],
};

/** body class is exactly one of loading | ready | running | results | error. */
function refresh() {
  let name;
  if (!state.ready && !state.hasError) name = 'loading';
  else if (state.busy > 0) name = 'running';
  else if (state.hasError) name = 'error';
  else if (state.report) name = 'results';
  else name = 'ready';
  document.body.className = name;

  const idle = state.ready && state.busy === 0;
  ui.runDemo.disabled = !idle;
  ui.modelPreset.disabled = !idle;
  ui.run.disabled = !(idle && state.data && (state.model || state.data.precomputed));
  ui.cancel.disabled = state.cancellable === null;
  ui.seed.disabled = ui.testFraction.disabled = ui.c.disabled = state.busy > 0;
  ui.reportInput.disabled = !state.ready;
}

function setStatus(text) {
  ui.status.textContent = text;
}

function showError(text) {
  state.hasError = true;
  ui.error.textContent = text;
  ui.error.hidden = false;
  refresh();
}

function clearError() {
  state.hasError = false;
  ui.error.textContent = '';
  ui.error.hidden = true;
}

function markStale() {
  if (state.report) ui.resultsNote.hidden = false;
}

const engine = new Engine({
  workers: poolSize(),
  testHooks: TEST_HOOKS,
  cache: params.get('cache') !== '0',
  build: params.get('build') === 'full' ? 'full' : 'image',
  simd: params.get('simd') === 'baseline' ? 'baseline' : 'auto',
  onBuildSwitch: ({ text, ops }) => {
    const why = text ? 'text encoders' : `the operators ${(ops ?? []).join(', ')}`;
    setStatus(`Loading the full engine for ${why}: the page's first download leaves them out to stay small…`);
  },
  onCrash: (message) => {
    state.busy += 1;
    state.cancellable = null;
    state.crashMessage = message;
    setStatus('Restarting the engine and reloading your model and data…');
    showError(`The WebAssembly engine stopped unexpectedly (${message}). Downstream is starting a fresh one and reloading the files you had loaded…`);
  },
  onRecovered: ({ error }) => {
    state.busy -= 1;
    if (error) {
      setStatus('Not available.');
      showError(`The WebAssembly engine stopped and could not be restarted: ${error.message}. Reload the page.`);
      return;
    }
    const reloaded = [state.model && 'model', state.data && 'data'].filter(Boolean).join(' and ');
    showError(
      `The WebAssembly engine stopped unexpectedly (${state.crashMessage}). A fresh one was started` +
        (reloaded ? ` and your ${reloaded} ${state.model && state.data ? 'were' : 'was'} reloaded, so nothing is lost; press Run to try again.` : '.'),
    );
    setStatus(reloaded ? `Engine restarted; ${reloaded} reloaded.` : 'Engine restarted.');
    refresh();
  },
});
if (TEST_HOOKS) window.__downstream = { engine, stats: engine.stats, probeProgress: [] };
const modelPanel = new ModelPanel({
  engine,
  isBusy: () => !state.ready || state.busy > 0,
  onChanged: (model) => {
    state.model = model;
    renderModelInfo(ui.modelInfo, model);
    markStale();
    refresh();
  },
});
engine.ready.then(
  () => {
    state.ready = true;
    setStatus('Ready. Run the demo, or choose a model and a zip of labelled images.');
    refresh();
    if (location.hash.length > 1) openReportFromHash();
    else openClassroomLink();
  },
  (err) => {
    setStatus('Not available.');
    showError(`The WebAssembly module could not be loaded: ${err.message}. (From a checkout, build it first with \`make build\`.)`);
  },
);

/**
 * Runs one engine job with busy/progress bookkeeping. `start` returns a promise or
 * {promise, cancel}; returns the result or null after showing why it failed.
 */
async function perform({ start, describeError }) {
  stopTsneForJob();
  state.busy += 1;
  refresh();
  const job = start();
  const { promise, cancel = null } = job instanceof Promise ? { promise: job } : job;
  if (cancel) state.cancellable = cancel;
  refresh();
  try {
    const result = await promise;
    clearError();
    return result;
  } catch (err) {
    if (err.cancelled) {
      setStatus('Cancelled.');
    } else if (err.crashed) {
      // onCrash has shown what happened and is reloading the files.
    } else {
      setStatus('Failed.');
      showError(describeError(err.message));
    }
    return null;
  } finally {
    if (state.cancellable === cancel) state.cancellable = null;
    state.busy -= 1;
    setProgress(ui.progress, ui.progressText);
    refresh();
  }
}

function onProgress(msg) {
  switch (msg.phase) {
    case 'fetching':
      setStatus(`Fetching ${msg.what === 'model' ? 'model' : 'data'} from ${msg.url}…`);
      break;
    case 'loading-model':
      setStatus('Loading the model…');
      break;
    case 'model-loaded':
      state.model = msg.model;
      renderModelInfo(ui.modelInfo, msg.model);
      modelPanel.show(msg.model);
      markStale();
      break;
    case 'loading-data':
      setStatus('Reading the images…');
      break;
    case 'data-loaded':
      state.data = msg.data;
      renderDataInfo(ui.dataInfo, msg.data);
      markStale();
      break;
    case 'embedding': {
      setStatus('Embedding images…');
      const now = performance.now();
      if (msg.done === 0 || state.embedStart === null) state.embedStart = { t: now, done: msg.done };
      const { t, done } = state.embedStart;
      const rate = msg.done > done ? (msg.done - done) / (now - t) : 0;
      const eta = rate > 0 ? (msg.total - msg.done) / rate / 1000 : undefined;
      setProgress(ui.progress, ui.progressText, msg.done, msg.total, eta);
      break;
    }
    case 'evaluating':
      state.embedStart = null;
      state.fitStart = performance.now();
      setStatus('Training the probe and computing metrics…');
      setProgress(ui.progress, ui.progressText);
      break;
    case 'probe':
      showProbeProgress(msg);
      break;
    case 'fits':
      showFitProgress(msg);
      break;
    default:
      break;
  }
}

/** One probe step: the iteration (or epoch) against its limit in the bar, the loss in the status. */
function showProbeProgress({ iteration, maxIter, loss, unit }) {
  if (TEST_HOOKS) window.__downstream.probeProgress.push({ iteration, maxIter, loss, unit });
  const max = Number.isFinite(maxIter) && maxIter > 0 ? maxIter : null;
  const step = unit === 'epoch' ? 'epoch' : 'iteration';
  if (max) {
    ui.progress.max = max;
    ui.progress.value = Math.min(iteration, max);
  }
  ui.progressText.textContent = max ? `${step} ${iteration} of at most ${max}` : `${step} ${iteration}`;
  setStatus(`Training the probe: ${step} ${iteration}, loss ${Number.isFinite(loss) ? loss.toPrecision(6) : loss}. Cancel (or Escape) stops it.`);
}

/** Fits of a protocol preset: done against total in the bar, and the time left from the
 * mean time per fit so far. */
function showFitProgress({ done, total }) {
  if (TEST_HOOKS) (window.__downstream.fitProgress ??= []).push({ done, total });
  if (!(Number.isFinite(done) && Number.isFinite(total) && total > 0)) return;
  ui.progress.max = total;
  ui.progress.value = Math.min(done, total);
  ui.progress.textContent = `${done} / ${total}`;
  const elapsed = (performance.now() - (state.fitStart ?? performance.now())) / 1000;
  const secondsLeft = done > 0 && done < total ? (elapsed / done) * (total - done) : null;
  const left = secondsLeft !== null ? `, ${etaText(secondsLeft)}` : '';
  ui.progressText.textContent = `Fitting: ${done} of ${total} fits${left}`;
  setStatus(
    done < total
      ? `Running the protocol: probe fit ${done} of ${total}. Cancel (or Escape) stops it.`
      : 'Computing metrics…',
  );
}

/** Reads the protocol inputs; returns a config or null after showing an error. */
function readConfig() {
  const seed = Number(ui.seed.value);
  const testFraction = Number(ui.testFraction.value);
  const c = Number(ui.c.value);
  const problems = [];
  if (ui.seed.value.trim() === '' || !Number.isSafeInteger(seed) || seed < 0) {
    problems.push(`seed must be a whole number ≥ 0, got “${ui.seed.value}”`);
  }
  if (ui.testFraction.value.trim() === '' || !(testFraction > 0 && testFraction < 1)) {
    problems.push(`test fraction must be between 0 and 1, got “${ui.testFraction.value}”`);
  }
  if (ui.c.value.trim() === '' || !(Number.isFinite(c) && c > 0)) {
    problems.push(`C must be a number > 0, got “${ui.c.value}”`);
  }
  if (problems.length > 0) {
    showError(`Invalid settings: ${problems.join('; ')}.`);
    return null;
  }
  const kind = ui.probeKind.value;
  if (kind === 'onnx_head' && !state.head) {
    showError('Invalid settings: the ONNX head probe needs a head file; choose one under “ONNX head (.onnx)”.');
    return null;
  }
  // Logistic regression takes C from its own field; the other probes use their defaults.
  const config = kind === 'logistic_regression' ? { seed, test_fraction: testFraction, c } : { seed, test_fraction: testFraction, c, probe: { kind } };
  // Protocol presets take their defaults (the CLI's `eval --protocol NAME`).
  if (ui.protocol.value !== 'holdout') config.protocol = { name: ui.protocol.value };
  return config;
}

function renderMatrix() {
  const cm = state.report?.metrics?.confusion_matrix;
  if (!cm) {
    ui.matrix.replaceChildren();
    return;
  }
  const focused = document.activeElement?.closest?.('#confusion-matrix .cell');
  const keep = focused ? [focused.dataset.row, focused.dataset.col] : null;
  const svg = confusionMatrixSvg(cm.labels, cm.matrix, { normalize: ui.cmNormalize.value, sort: ui.cmSort.value });
  svg.dataset.baseWidth = svg.getAttribute('width');
  svg.dataset.baseHeight = svg.getAttribute('height');
  ui.matrix.replaceChildren(svg);
  applyCmZoom();
  if (keep) {
    const cell = ui.matrix.querySelector(`.cell[data-row="${keep[0]}"][data-col="${keep[1]}"]`);
    if (cell) moveFocus(cell);
  }
}

function renderBars() {
  const m = state.report?.metrics;
  if (!m?.confusion_matrix) {
    ui.perClassChart.replaceChildren();
    return;
  }
  ui.perClassChart.replaceChildren(perClassBarsSvg(m.confusion_matrix.labels, m.per_class));
}

/** Fills the curve class select for a report: every class when few, else AP-ranked picks or one class. */
function fillCurveClasses(labels) {
  const k = labels.length;
  const opts = k <= 8
    ? [['all', `All ${k} classes`]]
    : [['extremes', '4 lowest and 4 highest AP'], ['worst', '8 lowest average precision'], ['best', '8 highest average precision'], ...(k <= 30 ? [['all', `All ${k} classes`]] : [])];
  ui.curveClasses.replaceChildren(
    ...opts.map(([value, text]) => Object.assign(document.createElement('option'), { value, textContent: text })),
    ...labels.map((l, i) => Object.assign(document.createElement('option'), { value: `class:${i}`, textContent: `Only ${l}` })),
  );
}

/** PR, ROC and calibration charts from report.metrics.curves; training loss and few-shot curves when present. */
function renderCurves() {
  const report = state.report;
  const curves = report?.metrics?.curves;
  const hasCurves = Array.isArray(curves?.per_class) && curves.per_class.length > 0;
  ui.curvesBlock.hidden = !hasCurves;
  if (hasCurves) {
    const classes = pickCurveClasses(curves.per_class, { mode: ui.curveClasses.value || 'extremes' });
    ui.prCurves.replaceChildren(prCurvesSvg(curves, { classes }));
    ui.rocCurves.replaceChildren(rocCurvesSvg(curves, { classes }));
    const labels = report.metrics.confusion_matrix?.labels ?? [];
    ui.calibration.replaceChildren(calibrationSvg(curves.calibration, { ece: report.metrics.ece, positiveLabel: labels[1] }));
  } else {
    for (const c of [ui.prCurves, ui.rocCurves, ui.calibration]) c.replaceChildren();
  }
  const probe = report?.probe ?? {};
  const loss = Array.isArray(probe.loss_per_iteration) && probe.loss_per_iteration.length > 0
    ? { values: probe.loss_per_iteration, unit: 'iteration' }
    : Array.isArray(probe.loss_per_epoch) && probe.loss_per_epoch.length > 0
      ? { values: probe.loss_per_epoch, unit: 'epoch' }
      : null;
  ui.lossFigure.hidden = !loss;
  ui.lossChart.replaceChildren(...(loss ? [lossCurveSvg(loss.values, { unit: loss.unit })] : []));
  const shots = fewShotPoints(report);
  ui.learningFigure.hidden = !shots;
  ui.learningChart.replaceChildren(...(shots ? [learningCurveSvg(shots)] : []));
  ui.trainingBlock.hidden = !loss && !shots;
}

/** Sizes the matrix for the zoom: 'fit' shrinks it to the container (no scroll), a number scales it and scrolls. */
function applyCmZoom() {
  const svg = ui.matrix.querySelector('svg');
  if (!svg) return;
  const zoom = currentCmZoom();
  const w = Number(svg.dataset.baseWidth);
  const h = Number(svg.dataset.baseHeight);
  const scale = zoom === 'fit' ? 1 : zoom;
  svg.setAttribute('width', String(Math.round(w * scale)));
  svg.setAttribute('height', String(Math.round(h * scale)));
  svg.classList.toggle('large', zoom !== 'fit');
  svg.dataset.zoom = String(zoom);
  ui.cmZoomLevel.textContent = zoom === 'fit' ? 'fit' : `${Math.round(zoom * 100)}%`;
  ui.cmZoomIn.disabled = zoom !== 'fit' && zoom >= CM_ZOOMS[CM_ZOOMS.length - 1];
  ui.cmZoomOut.disabled = zoom !== 'fit' && zoom <= CM_ZOOMS[0];
}

/** The chosen zoom; by default small matrices fit the width and large ones (> 30 classes) scroll at 100 %. */
function currentCmZoom() {
  return state.cmZoom ?? ((state.report?.metrics?.confusion_matrix?.labels?.length ?? 0) > 30 ? 1 : 'fit');
}

/** step +1 / −1 through CM_ZOOMS, or 'fit'. From 'fit' the next step above or below the fitted scale. */
function zoomMatrix(step) {
  const current = currentCmZoom();
  if (step === 'fit') {
    state.cmZoom = 'fit';
  } else if (current === 'fit') {
    const svg = ui.matrix.querySelector('svg');
    const fitted = svg ? svg.getBoundingClientRect().width / Number(svg.dataset.baseWidth) : 1;
    state.cmZoom = step > 0
      ? (CM_ZOOMS.find((z) => z > fitted + 1e-6) ?? CM_ZOOMS[CM_ZOOMS.length - 1])
      : (CM_ZOOMS.filter((z) => z < fitted - 1e-6).pop() ?? CM_ZOOMS[0]);
  } else {
    const i = CM_ZOOMS.indexOf(current);
    state.cmZoom = CM_ZOOMS[Math.min(CM_ZOOMS.length - 1, Math.max(0, i + step))];
  }
  applyCmZoom();
}

/** Roving tab stop: cell becomes the one focusable cell and gets focus. */
function moveFocus(cell) {
  for (const c of ui.matrix.querySelectorAll('.cell[tabindex="0"]')) c.setAttribute('tabindex', '-1');
  cell.setAttribute('tabindex', '0');
  cell.focus();
}

function onMatrixKey(event) {
  const cell = event.target.closest?.('.cell');
  if (!cell) return;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    openGallery(cell);
    return;
  }
  const zoomKey = { '+': 1, '=': 1, '-': -1, _: -1, 0: 'fit' }[event.key];
  if (zoomKey !== undefined) {
    event.preventDefault();
    zoomMatrix(zoomKey);
    cell.focus();
    return;
  }
  const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [0, -Infinity], End: [0, Infinity] };
  const step = steps[event.key];
  if (!step) return;
  event.preventDefault();
  const n = state.report.metrics.confusion_matrix.labels.length;
  const [r, c] = cell.dataset.pos.split(',').map(Number);
  const clamp = (x) => Math.min(n - 1, Math.max(0, x));
  const next = ui.matrix.querySelector(`.cell[data-pos="${clamp(r + step[0])},${clamp(c + step[1])}"]`);
  if (next) moveFocus(next);
}

function closeGallery() {
  state.galleryToken += 1;
  for (const url of state.galleryUrls) URL.revokeObjectURL(url);
  state.galleryUrls = [];
  ui.gallery.hidden = true;
  ui.gallery.replaceChildren();
}

/** Close button or Escape: closes the gallery and gives focus back to the cell or dot that opened it. */
function dismissGallery() {
  const focusWasInside = ui.gallery.contains(document.activeElement);
  const opener = state.galleryOpener;
  closeGallery();
  if (focusWasInside && opener?.isConnected) opener.focus();
}

const MIME_BY_EXT = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', bmp: 'image/bmp', gif: 'image/gif' };

/** Shows the test samples of a confusion-matrix cell, thumbnails requested from the worker. */
async function openGallery(cell) {
  const report = state.report;
  if (!report) return;
  closeGallery();
  const token = state.galleryToken;
  moveFocus(cell);
  state.galleryOpener = cell;
  const row = Number(cell.dataset.row);
  const col = Number(cell.dataset.col);
  const labels = report.metrics.confusion_matrix.labels;
  const p = report.predictions ?? {};
  const samples = [];
  (p.test_index ?? []).forEach((index, k) => {
    if (p.y_true[k] === row && p.y_pred[k] === col) samples.push({ index, confidence: p.confidence?.[k] });
  });
  const count = Number(cell.dataset.count);
  const title = `True ${labels[row]}, predicted ${labels[col]}: ${count} test image${count === 1 ? '' : 's'}`;
  await fillGallery(token, title, samples, count);
}

/** Shows samples ([{index, confidence}]) in the gallery with thumbnails when the report's data is loaded. */
async function fillGallery(token, title, samples, count = samples.length) {
  const report = state.report;
  const p = report.predictions ?? {};
  const haveData = state.data?.sha256 && state.data.sha256 === report.data?.sha256;
  let note = null;
  if ((p.test_index ?? []).length === 0 && count > 0) {
    note = 'This report has no per-sample predictions (they were left out to fit the share link), so the gallery is unavailable.';
  } else if (samples.length > 0 && !haveData) {
    note = `Thumbnails need the report's data set (${report.data?.name}) loaded on this page; load that zip to see the images.`;
  } else if (samples.length === 0) {
    note = 'No test images in this cell.';
  }
  const neighbours = Boolean(haveData && knnOfThisRun(report));
  const slots = renderGallery(ui.gallery, { title, samples, note, neighbours });
  ui.gallery.scrollIntoView({ block: 'nearest' });
  if (!haveData || samples.length === 0) return;
  let result;
  try {
    result = { items: await engine.items(samples.map((s) => s.index), report.data.sha256) };
  } catch (err) {
    if (token === state.galleryToken) {
      ui.gallery.querySelector('.gallery-grid')?.before(Object.assign(document.createElement('p'), { className: 'hint', textContent: `Thumbnails unavailable: ${err.message}` }));
    }
    return;
  }
  if (token !== state.galleryToken) return;
  for (const item of result.items) {
    const slot = slots.get(item.index);
    if (slot) showItem(slot, item);
  }
}

/** Puts a data-set item ({path, bytes}) in a gallery slot ({thumb, path}): its image, or its text as text. */
function showItem(slot, item) {
  if (state.data?.text && /^text \d+$/.test(item.path)) {
    // A text item: its text, as text.
    const text = new TextDecoder().decode(item.bytes);
    slot.thumb.replaceChildren(Object.assign(document.createElement('p'), { className: 'sample-text', textContent: text }));
    slot.thumb.removeAttribute('aria-hidden');
    slot.path.textContent = item.path;
    return;
  }
  const ext = item.path.split('.').pop().toLowerCase();
  const url = URL.createObjectURL(new Blob([item.bytes], { type: MIME_BY_EXT[ext] ?? 'application/octet-stream' }));
  state.galleryUrls.push(url);
  const img = document.createElement('img');
  img.src = url;
  img.alt = item.path;
  img.width = 64;
  img.height = 64;
  slot.thumb.replaceChildren(img);
  slot.path.textContent = item.path;
  slot.path.title = item.path;
}

/** A report of this page's own run with a k-NN probe on a hold-out split: the session kept its neighbours. */
function knnOfThisRun(report) {
  return state.reportFromRun && ['knn_vote', 'knn_weighted'].includes(report?.probe?.kind) && !report.protocol?.settings;
}

/** The Neighbours button of a gallery sample: shows or hides the training samples that voted for it. */
async function toggleNeighbours(button) {
  const panel = document.getElementById(button.getAttribute('aria-controls'));
  if (!panel) return;
  const open = button.getAttribute('aria-expanded') !== 'true';
  button.setAttribute('aria-expanded', String(open));
  panel.hidden = !open;
  button.closest('.sample')?.classList.toggle('open', open);
  if (!open || panel.dataset.loaded) return;
  panel.dataset.loaded = 'true';
  const token = state.galleryToken;
  const report = state.report;
  panel.replaceChildren(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'Finding the neighbours…' }));
  try {
    const neighbours = await engine.neighbours(Number(button.dataset.index), report.data.sha256);
    if (token !== state.galleryToken) return;
    const slots = renderNeighbours(panel, {
      neighbours,
      labels: report.metrics.confusion_matrix.labels,
      weighted: report.probe.kind === 'knn_weighted',
    });
    const items = await engine.items(neighbours.map((n) => n.item_index), report.data.sha256);
    if (token !== state.galleryToken) return;
    for (const item of items) {
      const slot = slots.get(item.index);
      if (slot) showItem(slot, item);
    }
  } catch (err) {
    if (token !== state.galleryToken) return;
    delete panel.dataset.loaded;
    panel.replaceChildren(Object.assign(document.createElement('p'), { className: 'hint', textContent: `Neighbours unavailable: ${err.message}` }));
  }
}

/** Test samples of the given predictions positions (k in report.predictions) in the gallery. */
async function openSamples(title, positions) {
  const p = state.report?.predictions;
  if (!p) return;
  closeGallery();
  const token = state.galleryToken;
  const samples = positions.map((k) => ({ index: p.test_index[k], confidence: p.confidence?.[k] }));
  await fillGallery(token, title, samples);
}

/** Embedding map: PCA (default) or t-SNE (on demand, ui.mapMethod, with the perplexity of
 * ui.mapPerplexity) of the test items' embeddings: PCA in the session worker, t-SNE in a worker
 * of its own. Both are kept per report (t-SNE per perplexity). `fromRun`: the report is this
 * page's run (a new report resets the map to PCA; t-SNE is slow, so it is only computed when
 * chosen). An invalid perplexity leaves the map drawn as it is and says why in the note. */
async function renderScatter(report, { fromRun, method = 'pca' }) {
  if (state.scatterReport !== report) {
    state.scatterReport = report;
    state.scatterFromRun = fromRun;
    state.tsne = null;
    state.pca = null;
    ui.mapMethod.value = method;
  }
  stopTsne();
  ui.mapPerplexityField.hidden = method !== 'tsne';
  const perplexity = method === 'tsne' ? mapPerplexity() : null;
  ui.mapPerplexity.setAttribute('aria-invalid', String(method === 'tsne' && perplexity === null));
  if (method === 'tsne' && perplexity === null) {
    state.scatterToken = (state.scatterToken ?? 0) + 1;
    ui.scatterNote.hidden = false;
    ui.scatterNote.textContent = `Perplexity must be a whole number from ${PERPLEXITY_MIN} to ${PERPLEXITY_MAX} (30 by default), not “${ui.mapPerplexity.value || 'empty'}”; the map was not recomputed.`;
    return;
  }
  ui.scatter.replaceChildren();
  const p = report.predictions ?? {};
  const sameFiles = state.data?.sha256 === report.data?.sha256 && (state.data?.precomputed || state.model?.sha256 === report.model?.sha256);
  ui.scatterBlock.hidden = false;
  if ((p.test_index ?? []).length < 2 || !(fromRun || sameFiles)) {
    ui.mapMethod.disabled = true;
    ui.mapPerplexity.disabled = true;
    ui.scatterNote.hidden = false;
    ui.scatterNote.textContent = (p.test_index ?? []).length < 2
      ? 'No embedding map: this report has no per-sample predictions.'
      : 'The embedding map needs the embeddings of this report’s model and data: load them and press Run to draw it.';
    return;
  }
  ui.mapMethod.disabled = false;
  ui.mapPerplexity.disabled = false;
  ui.scatterNote.hidden = true;
  const token = (state.scatterToken = (state.scatterToken ?? 0) + 1);
  let result;
  try {
    result = method === 'tsne' ? await tsneOf(report, token, perplexity) : await pcaOf(report);
  } catch (err) {
    if (token !== state.scatterToken) return;
    ui.scatterNote.hidden = false;
    ui.scatterNote.textContent = `No embedding map: ${err.message}`;
    return;
  }
  if (token !== state.scatterToken || state.report !== report) return;
  const labels = report.metrics.confusion_matrix.labels;
  const common = { items: p.test_index, pred: p.y_pred };
  let svg;
  if (method === 'tsne') {
    svg = scatterSvg(result.coords, p.y_true, labels, { ...common, method: 'tsne', perplexity: result.perplexity });
    ui.scatterNote.hidden = false;
    ui.scatterNote.textContent = `t-SNE of ${result.n} points (Barnes-Hut, perplexity ${Number(result.perplexity.toFixed(2))}, ${result.iterations} iterations, started from PCA; KL divergence ${Number.isFinite(result.kl_divergence) ? result.kl_divergence.toFixed(3) : 'n/a'}) in ${(result.ms / 1000).toFixed(1)} s.`;
  } else {
    svg = scatterSvg(result.coords, p.y_true, labels, { ...common, explained: result.explained_variance_ratio });
  }
  // Keyboard: one dot is the tab stop (a roving tabindex, as in the matrix).
  svg.querySelectorAll('.point').forEach((dot, k) => {
    dot.setAttribute('tabindex', k === 0 ? '0' : '-1');
    dot.setAttribute('role', 'button');
    dot.setAttribute('aria-label', dot.querySelector('title')?.textContent ?? `test item ${dot.dataset.item}`);
  });
  ui.scatter.replaceChildren(svg);
}

/** PCA of the report's test embeddings, once per report (kept in state.pca), so the map can
 * go back to PCA at once, even while the session worker runs something else. */
async function pcaOf(report) {
  if (state.pca?.report === report) return state.pca.result;
  const { pca } = await (await engine.sessionWorker()).request('pca', { indices: report.predictions.test_index, sha256: report.data?.sha256 }).promise;
  if (state.scatterReport === report) state.pca = { report, result: pca };
  return pca;
}

/** Bounds of the map's perplexity input (index.html); the wasm takes any perplexity of at
 * least 1 and clamps it to (n − 1) / 3. */
const PERPLEXITY_MIN = 2;
const PERPLEXITY_MAX = 100;

/** The perplexity asked for in ui.mapPerplexity: a whole number in its bounds, or null. */
function mapPerplexity() {
  const text = ui.mapPerplexity.value.trim();
  const value = Number(text);
  return text !== '' && Number.isInteger(value) && value >= PERPLEXITY_MIN && value <= PERPLEXITY_MAX ? value : null;
}

/** t-SNE of the report's test embeddings with the given perplexity, once per report and
 * perplexity (kept in state.tsne.results), with its iterations as progress in the map's note.
 * It runs in a worker of its own (Engine.tsne), so the session worker stays free and stopping
 * it loses nothing. */
async function tsneOf(report, token, perplexity) {
  const kept = state.tsne?.report === report ? state.tsne.results.get(perplexity) : undefined;
  if (kept) return kept;
  const p = report.predictions;
  const n = p.test_index.length;
  const note = (text) => {
    if (token !== state.scatterToken) return;
    ui.scatterNote.hidden = false;
    ui.scatterNote.textContent = text;
  };
  note(`Computing t-SNE of ${n} points… (choose PCA to stop)`);
  // renderScatter, the only caller, has stopped any earlier t-SNE (no await in between).
  const job = engine.tsne(p.test_index, report.data?.sha256, {
    perplexity,
    onProgress: (msg) => note(`Computing t-SNE of ${n} points… iteration ${msg.done} of ${msg.total} (choose PCA to stop)`),
  });
  state.tsneRunning = { token, stop: job.stop };
  try {
    const tsne = await job.promise;
    if (state.scatterReport === report) {
      if (state.tsne?.report !== report) state.tsne = { report, results: new Map() };
      state.tsne.results.set(perplexity, tsne);
    }
    return tsne;
  } finally {
    if (state.tsneRunning?.token === token) state.tsneRunning = null;
  }
}

/** Stops a t-SNE still running by terminating its worker; nothing else is touched. */
function stopTsne() {
  const running = state.tsneRunning;
  if (!running) return;
  state.tsneRunning = null;
  running.stop();
}

/** A run or a load is starting: a t-SNE still running stops (it would compete for the cores),
 * and the map goes back to the report's PCA. */
function stopTsneForJob() {
  if (!state.tsneRunning || !state.scatterReport) return;
  ui.mapMethod.value = 'pca';
  renderScatter(state.scatterReport, { fromRun: state.scatterFromRun, method: 'pca' });
}

/** Arrow keys move to the nearest dot in that direction; Enter or Space opens the focused dot's sample. */
function onScatterKey(event) {
  const dot = event.target.closest?.('svg.embedding-scatter .point');
  if (!dot) return;
  const svg = dot.ownerSVGElement;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    for (const c of svg.querySelectorAll('.point.selected')) c.classList.remove('selected');
    dot.classList.add('selected');
    state.galleryOpener = dot;
    openSamples('1 test image selected on the embedding map', [Number(dot.dataset.i)]);
    // The gallery sits above the map: focus its Close button (Enter there, or Escape, comes back here).
    ui.gallery.querySelector('[data-action="close-gallery"]')?.focus();
    return;
  }
  const dir = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }[event.key];
  if (!dir) return;
  event.preventDefault();
  const x = Number(dot.getAttribute('cx'));
  const y = Number(dot.getAttribute('cy'));
  let best = null;
  let bestScore = Infinity;
  for (const c of svg.querySelectorAll('.point')) {
    const dx = Number(c.getAttribute('cx')) - x;
    const dy = Number(c.getAttribute('cy')) - y;
    const along = dx * dir[0] + dy * dir[1];
    if (c === dot || along <= 0) continue;
    const score = along + 2 * Math.abs(dx * dir[1] + dy * dir[0]);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  if (!best) return;
  dot.setAttribute('tabindex', '-1');
  best.setAttribute('tabindex', '0');
  best.focus();
}

/** Scatter interaction: click a dot for its sample, drag a box for all samples inside. */
function scatterPoint(svg, event) {
  const m = svg.getScreenCTM();
  if (!m) return null;
  const pt = new DOMPoint(event.clientX, event.clientY).matrixTransform(m.inverse());
  return [pt.x, pt.y];
}

function onScatterDown(event) {
  const svg = event.target.closest?.('svg.embedding-scatter');
  if (!svg || event.button !== 0) return;
  const start = scatterPoint(svg, event);
  if (!start) return;
  const downDot = event.target.closest?.('.point');
  svg.setPointerCapture?.(event.pointerId);
  const brush = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  brush.setAttribute('class', 'brush');
  let end = start;
  const move = (e) => {
    end = scatterPoint(svg, e) ?? end;
    const [x0, x1] = [Math.min(start[0], end[0]), Math.max(start[0], end[0])];
    const [y0, y1] = [Math.min(start[1], end[1]), Math.max(start[1], end[1])];
    Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }).forEach(([k, v]) => brush.setAttribute(k, String(v)));
    if (!brush.isConnected) svg.append(brush);
  };
  const up = () => {
    svg.removeEventListener('pointermove', move);
    svg.removeEventListener('pointerup', up);
    brush.remove();
    const [x0, x1] = [Math.min(start[0], end[0]), Math.max(start[0], end[0])];
    const [y0, y1] = [Math.min(start[1], end[1]), Math.max(start[1], end[1])];
    let picked;
    if (x1 - x0 < 3 && y1 - y0 < 3) {
      picked = downDot ? [Number(downDot.dataset.i)] : [];
    } else {
      picked = [...svg.querySelectorAll('.point')]
        .filter((c) => {
          const cx = Number(c.getAttribute('cx'));
          const cy = Number(c.getAttribute('cy'));
          return cx >= x0 && cx <= x1 && cy >= y0 && cy <= y1;
        })
        .map((c) => Number(c.dataset.i));
    }
    for (const c of svg.querySelectorAll('.point.selected')) c.classList.remove('selected');
    if (picked.length === 0) return;
    for (const i of picked) svg.querySelector(`.point[data-i="${i}"]`)?.classList.add('selected');
    state.galleryOpener = null;
    openSamples(`${picked.length} test image${picked.length === 1 ? '' : 's'} selected on the embedding map`, picked);
  };
  svg.addEventListener('pointermove', move);
  svg.addEventListener('pointerup', up);
}

/** "Compare with…": keeps the shown report as A; the next run or opened report becomes B. */
function startCompare() {
  if (!state.report || !state.reportJson) return;
  state.compareA = { report: state.report, json: state.reportJson };
  ui.compareView.hidden = true;
  ui.compareView.replaceChildren();
  ui.compareHint.hidden = false;
  ui.compareHint.textContent =
    `Kept as A: ${describeReport(state.report)}. Now run another probe or encoder with the same seed and test fraction, ` +
    'or open a report file: it becomes B and the two are compared on the same test images.';
}

function describeReport(report) {
  return `${probeText(report.probe ?? {})} · ${report.model?.name ?? 'model'} on ${report.data?.name ?? 'data'} · accuracy ${fmt(report.metrics?.accuracy)}`;
}

const signed = (x, d = 4) => (Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(d)}` : '—');
const pText = (p) => (p < 1e-4 ? p.toExponential(2) : p.toFixed(4));

/** Compares the kept report A with report B (this report) in the session worker and shows it. */
async function runCompare(b, bJson) {
  const a = state.compareA;
  if (!a || a.json === bJson) return;
  state.compareA = null;
  ui.compareHint.hidden = true;
  const view = ui.compareView;
  view.hidden = false;
  const title = Object.assign(document.createElement('h3'), { id: 'compare-title', textContent: 'Comparison: A vs B on the same test images' });
  view.replaceChildren(title, Object.assign(document.createElement('p'), { className: 'hint', textContent: 'Comparing…' }));
  let c;
  try {
    const w = await engine.sessionWorker();
    c = (await w.request('compare', { a: a.json, b: bJson, resamples: COMPARE_RESAMPLES, seed: COMPARE_SEED }).promise).comparison;
  } catch (err) {
    view.replaceChildren(title, Object.assign(document.createElement('p'), { className: 'error-box', textContent: `Cannot compare: ${err.message}` }));
    view.dataset.state = 'error';
    return;
  }
  view.dataset.state = 'done';
  const mk = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) e.setAttribute(k, String(v));
    e.append(...kids.map((k) => (k instanceof Node ? k : document.createTextNode(String(k)))));
    return e;
  };
  const pb = c.paired_bootstrap;
  const mc = c.mcnemar;
  const who = mk('dl', { class: 'kv' },
    mk('dt', {}, 'A'), mk('dd', {}, describeReport(a.report)),
    mk('dt', {}, 'B'), mk('dd', {}, describeReport(b)));
  const summary = mk('dl', { class: 'kv' },
    mk('dt', { title: 'Accuracy of A minus accuracy of B on the same test images' }, 'Accuracy A − B'),
    mk('dd', {}, mk('span', { 'data-testid': 'compare-accuracy-delta', 'data-value': pb.difference }, signed(pb.difference)),
      ` (A ${fmt(pb.accuracy_a)}, B ${fmt(pb.accuracy_b)})`),
    mk('dt', { title: 'Resampling the same test images for both: where the accuracy difference would fall on another test set like this one' }, `${Math.round(pb.level * 100)}% CI of A − B`),
    mk('dd', {}, mk('span', { 'data-testid': 'compare-ci', 'data-low': pb.ci[0], 'data-high': pb.ci[1] }, `${signed(pb.ci[0])} to ${signed(pb.ci[1])}`),
      ` (paired ${pb.method} bootstrap, ${pb.resamples} resamples, seed ${pb.seed})`),
    mk('dt', { title: 'Tests whether A and B make different numbers of mistakes, from the images only one of them gets right' }, 'McNemar p-value'),
    mk('dd', {}, mk('span', { 'data-testid': 'compare-pvalue', 'data-value': mc.p_value }, pText(mc.p_value)),
      ` (${mc.method === 'exact_binomial' ? 'exact binomial' : 'chi-square, continuity-corrected'}; only A right ${mc.b}, only B right ${mc.c} of ${mc.n})`),
  );
  const verdict = mk('p', { class: 'hint' }, mc.p_value < 0.05
    ? `At the 5 % level the two differ: ${pb.difference > 0 ? 'A' : 'B'} is more accurate on these test images.`
    : 'At the 5 % level these test images do not show a difference between A and B.');
  const rows = c.metrics.map((d) => mk('tr', { 'data-metric': d.name },
    mk('th', { scope: 'row' }, d.name.replaceAll('_', ' ')),
    mk('td', { class: 'num' }, fmt(d.a)), mk('td', { class: 'num' }, fmt(d.b)),
    mk('td', { class: `num ${d.delta > 0 ? 'delta-pos' : d.delta < 0 ? 'delta-neg' : ''}`, 'data-value': d.delta }, signed(d.delta))));
  const table = mk('table', { class: 'compact', 'data-testid': 'compare-metrics' },
    mk('caption', {}, 'Metrics (B − A; for log loss lower is better)'),
    mk('thead', {}, mk('tr', {}, mk('th', { scope: 'col' }, 'Metric'), mk('th', { scope: 'col', class: 'num' }, 'A'), mk('th', { scope: 'col', class: 'num' }, 'B'), mk('th', { scope: 'col', class: 'num' }, 'B − A'))),
    mk('tbody', {}, ...rows));
  const tools = mk('div', { class: 'chart-tools', 'data-chart': 'compare-matrix' },
    mk('button', { type: 'button', class: 'small', 'data-testid': 'export-svg' }, 'SVG'),
    mk('button', { type: 'button', class: 'small', 'data-testid': 'export-png' }, 'PNG'));
  for (const button of tools.querySelectorAll('button')) button.addEventListener('click', () => exportChart(button));
  const chart = mk('div', { id: 'compare-matrix', class: 'chart', 'data-testid': 'compare-matrix' });
  chart.append(diffMatrixSvg(c.labels, c.matrix_a, c.matrix_b));
  view.replaceChildren(title, who, summary, verdict, mk('div', { class: 'table-scroll' }, table),
    mk('div', { class: 'chart-head' }, mk('h4', {}, 'Confusion matrix B − A'), tools),
    mk('p', { class: 'hint' }, 'Each cell: B’s count minus A’s. Blue where B does better (more correct on the diagonal, fewer mistakes off it), orange where A does.'),
    chart);
}

/** Shows a report; source describes where it came from when it is not this page's run. */
function showReport(report, reportJson, { seconds, source, run } = {}) {
  state.report = report;
  state.reportFromRun = !source;
  const note = {
    cache: 'Embeddings from cache: this model on these images was embedded before in this browser, so nothing was re-embedded.',
    reused: 'Embeddings reused from the previous run on this model and data.',
  }[run?.embeddings];
  ui.cacheNote.hidden = !note;
  ui.cacheNote.textContent = note ?? '';
  state.reportJson = reportJson;
  closeGallery();
  renderMetrics(ui.metrics, report.metrics);
  renderWarnings(ui.warnings, report.metrics?.warnings);
  renderSupportWarning(ui.supportWarning, report.metrics);
  renderRunInfo(ui.runInfo, report);
  state.cmZoom = null;
  renderMatrix();
  renderBars();
  fillCurveClasses(report.metrics?.curves?.per_class?.map((c) => c.label) ?? []);
  renderCurves();
  renderPerClassTable(ui.perClass, report.metrics);
  renderScatter(report, { fromRun: !source });
  if (state.compareA) runCompare(report, reportJson);
  else ui.compareView.hidden = true;
  ui.resultsNote.hidden = true;
  ui.shareBox.hidden = true;
  ui.shareUrl.value = '';
  ui.reportSource.hidden = !source;
  ui.reportSource.textContent = source ?? '';
  ui.results.hidden = false;
  setStatus(
    source
      ? `${source} Accuracy ${fmt(report.metrics?.accuracy)} on ${report.protocol?.n_test} test images.`
      : `Done in ${seconds.toFixed(1)} s: accuracy ${fmt(report.metrics?.accuracy)} on ${report.protocol?.n_test} test images.`,
  );
}

function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

async function fetchBytes(what, url, signal) {
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw new WorkerError('Cancelled.', { cancelled: true });
    throw new Error(
      `could not fetch the ${what} from ${url}: the request failed or was blocked (${messageOf(err)}). ` +
        'This page may only fetch files from its own site; check the address.',
    );
  }
  if (!response.ok) {
    throw new Error(`could not fetch the ${what} from ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  try {
    return await response.arrayBuffer();
  } catch (err) {
    // Cancel can land while the body is still arriving.
    if (signal.aborted) throw new WorkerError('Cancelled.', { cancelled: true });
    throw new Error(`could not read the ${what} from ${url}: ${messageOf(err)}`);
  }
}

function baseName(url) {
  return decodeURIComponent(new URL(url).pathname.split('/').pop()) || url;
}

/** Fetches a model and a data set (same site), loads them, and evaluates when config is given. */
function runUrls(modelUrl, dataUrl, config) {
  const controller = new AbortController();
  let inner = null;
  const check = () => {
    if (controller.signal.aborted) throw new WorkerError('Cancelled.', { cancelled: true });
  };
  const promise = (async () => {
    onProgress({ phase: 'fetching', what: 'model', url: modelUrl });
    const modelBytes = await fetchBytes('model', modelUrl, controller.signal);
    check();
    onProgress({ phase: 'fetching', what: 'data', url: dataUrl });
    const dataBytes = await fetchBytes('data', dataUrl, controller.signal);
    check();
    onProgress({ phase: 'loading-model' });
    const model = await engine.loadModel(modelBytes, baseName(modelUrl));
    onProgress({ phase: 'model-loaded', model });
    check();
    onProgress({ phase: 'loading-data' });
    const data = await engine.loadData(dataBytes, baseName(dataUrl));
    onProgress({ phase: 'data-loaded', data });
    check();
    if (!config) return { model, data };
    inner = engine.evaluate(config, { onProgress });
    return { model, data, ...(await inner.promise) };
  })();
  const cancel = () => {
    controller.abort();
    inner?.cancel();
  };
  return { promise, cancel };
}

async function runDemo() {
  const config = readConfig();
  if (!config) return;
  const started = performance.now();
  const result = await perform({
    start: () => runUrls(DEMO_MODEL_URL, DEMO_DATA_URL, config),
    describeError: (m) => `Demo failed: ${m}`,
  });
  if (!result) return;
  ui.modelInput.value = '';
  ui.dataInput.value = '';
  showReport(result.report, result.reportJson, { seconds: (performance.now() - started) / 1000, run: result.run });
  refresh();
}

async function runEvaluate() {
  const config = readConfig();
  if (!config) return;
  const started = performance.now();
  setStatus('Starting…');
  const result = await perform({
    start: () => engine.evaluate(config, { onProgress }),
    describeError: (m) => `Evaluation failed: ${m}`,
  });
  if (!result) return;
  showReport(result.report, result.reportJson, { seconds: (performance.now() - started) / 1000, run: result.run });
  noteProtocol(result.report.protocol);
  refresh();
}

/** Loads the chosen ONNX head into the engine; a bad head is refused and the previous one stays. */
async function loadHeadFile() {
  const file = ui.headFile.files?.[0];
  if (!file) return;
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    showError(`Could not read head file “${file.name}”: ${err.message}`);
    return;
  }
  const result = await perform({
    start: async () => ({ head: await engine.loadHead(bytes, file.name) }),
    describeError: (m) => (m.includes(file.name) ? `Could not load the ONNX head: ${m}` : `Could not load the ONNX head “${file.name}”: ${m}`),
  });
  if (!result) {
    ui.headFile.value = '';
    return;
  }
  state.head = result.head;
  const shape = `[N, ${result.head.input_dim ?? 'D'}] → [N, ${result.head.n_classes ?? 'K'}]`;
  setStatus(`ONNX head ${file.name} loaded (${shape}). Press Run to score it on the test split.`);
  refresh();
}

/** After a protocol preset, the status also gives its mean ± std and what the metrics shown are of. */
function noteProtocol(p) {
  if (!p?.accuracy || !p.metrics_from) return;
  const last = p.few_shot?.[p.few_shot.length - 1];
  const over = last ? `at ${last.shots} shots over ${last.seeds} seeds` : `over ${p.runs?.length ?? 0} runs`;
  setStatus(
    `${ui.status.textContent} Protocol ${p.name}: accuracy ${fmt(p.accuracy.mean)} ± ${fmt(p.accuracy.std)} ${over}; ` +
      `the metrics below are of ${p.metrics_from}.`,
  );
}

async function loadFile(input, kind) {
  const file = input.files?.[0];
  if (!file) return;
  const what = kind === 'model' ? 'model' : 'data';
  state.busy += 1; // before the await, so Run is disabled at once
  refresh();
  setStatus(`Reading ${file.name}…`);
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    state.busy -= 1;
    showError(`Could not read ${what} file “${file.name}”: ${err.message}`);
    return;
  }
  state.busy -= 1;
  setStatus(kind === 'model' ? `Loading model ${file.name}…` : `Reading images from ${file.name}…`);
  const result = await perform({
    start: async () => (kind === 'model' ? { model: await engine.loadModel(bytes, file.name) } : { data: await engine.loadData(bytes, file.name) }),
    describeError: (m) => (m.includes(file.name) ? `Could not load ${what}: ${m}` : `Could not load ${what} “${file.name}”: ${m}`),
  });
  if (!result) {
    input.value = '';
    return;
  }
  if (kind === 'model') {
    state.model = result.model;
    ui.modelPreset.value = '';
    if (state.data?.precomputed) {
      // The engine dropped the precomputed embeddings: a model is for images.
      state.data = null;
      renderDataInfo(ui.dataInfo, null);
    }
    renderModelInfo(ui.modelInfo, result.model);
    modelPanel.show(result.model);
    setStatus(`Model ${file.name} loaded: embedding dimension ${result.model.embedding_dim}.`);
  } else {
    state.data = result.data;
    renderDataInfo(ui.dataInfo, result.data);
    setStatus(`Data ${file.name} loaded: ${result.data.n} images in ${result.data.classes.length} classes.`);
  }
  markStale();
  refresh();
}

/** Loads the chosen precomputed embeddings: one .npz or .csv, or a .npy with its labels (.txt). */
async function loadEmbeddingsFiles() {
  const files = [...(ui.embeddingsInput.files ?? [])];
  if (files.length === 0) return;
  const ext = (f) => f.name.toLowerCase().split('.').pop();
  const main = files.find((f) => ['npz', 'csv', 'npy'].includes(ext(f)));
  const labelsFile = files.find((f) => f !== main && ext(f) === 'txt') ?? null;
  if (!main) {
    showError('Choose a .npz, a .csv, or a .npy with its labels file (.txt).');
    ui.embeddingsInput.value = '';
    return;
  }
  state.busy += 1; // before the await, so Run is disabled at once
  refresh();
  setStatus(`Reading ${main.name}…`);
  let bytes;
  let labels = null;
  try {
    bytes = await main.arrayBuffer();
    if (labelsFile) labels = { bytes: await labelsFile.arrayBuffer(), name: labelsFile.name };
  } catch (err) {
    state.busy -= 1;
    showError(`Could not read “${main.name}”: ${err.message}`);
    return;
  }
  state.busy -= 1;
  const result = await perform({
    start: async () => ({ data: await engine.loadEmbeddings(bytes, main.name, labels) }),
    describeError: (m) => (m.includes(main.name) ? `Could not load the embeddings: ${m}` : `Could not load the embeddings “${main.name}”: ${m}`),
  });
  if (!result) {
    ui.embeddingsInput.value = '';
    return;
  }
  state.data = result.data;
  ui.dataInput.value = '';
  renderDataInfo(ui.dataInfo, result.data);
  setStatus(`Embeddings ${main.name} loaded: ${result.data.n} rows in ${result.data.classes.length} classes; no model needed. Press Run.`);
  markStale();
  refresh();
}

/**
 * Loads a folder's files ([{path, file: File}], paths relative to the folder) as the data
 * set: class folders, train/ val/ test/ folders or a manifest, exactly as a zip of them.
 */
async function loadFolderFiles(entries, name) {
  if (entries.length === 0) {
    showError(`The folder “${name}” has no files.`);
    return;
  }
  state.busy += 1; // before the await, so Run is disabled at once
  refresh();
  setStatus(`Reading ${entries.length} files from ${name}…`);
  let files;
  try {
    files = await Promise.all(entries.map(async ({ path, file }) => ({ path, bytes: await file.arrayBuffer() })));
  } catch (err) {
    state.busy -= 1;
    showError(`Could not read the folder “${name}”: ${err.message}`);
    return;
  }
  state.busy -= 1;
  setStatus(`Reading images from ${name}…`);
  const result = await perform({
    start: async () => ({ data: await engine.loadFolder(files, name) }),
    describeError: (m) => (m.includes(name) ? `Could not load data: ${m}` : `Could not load data “${name}”: ${m}`),
  });
  ui.dataFolder.value = '';
  if (!result) return;
  state.data = result.data;
  ui.dataInput.value = '';
  ui.embeddingsInput.value = '';
  renderDataInfo(ui.dataInfo, result.data);
  setStatus(`Data ${name} loaded: ${result.data.n} images in ${result.data.classes.length} classes.`);
  markStale();
  refresh();
}

/**
 * A split manifest chosen beside the data (path,label,split; paths relative to the zip or
 * folder): the loaded zip or folder is read again with it, and the next one uses it too.
 */
async function loadManifestFile() {
  const file = ui.manifestFile.files?.[0];
  if (!file) return;
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    showError(`Could not read the manifest “${file.name}”: ${err.message}`);
    return;
  }
  const result = await perform({
    start: async () => ({ data: await engine.setManifest({ bytes, name: file.name }) }),
    describeError: (m) => (m.includes(file.name) ? `Could not use the manifest: ${m}` : `Could not use the manifest “${file.name}”: ${m}`),
  });
  if (!result) {
    ui.manifestFile.value = '';
    return;
  }
  if (result.data) {
    state.data = result.data;
    renderDataInfo(ui.dataInfo, result.data);
    setStatus(`Manifest ${file.name} applied to ${result.data.name}: ${result.data.n} images in ${result.data.classes.length} classes.`);
    markStale();
  } else {
    setStatus(`Manifest ${file.name} kept: it applies to the zip or folder you choose next.`);
  }
  refresh();
}

/** TextOptions from the page's pooling and normalise controls (sentence-transformers' other defaults). */
function textOptions() {
  return { max_length: 256, pooling: ui.textPooling.value, normalize: ui.textNormalize.checked, batch_size: 32, output: null, shapes: 'symbolic' };
}

/** Loads a text encoder (ONNX bytes, tokenizer {bytes, name}) with the page's text options. */
async function loadTextModelBytes(bytes, tokenizer, name) {
  const result = await perform({
    start: async () => ({ model: await engine.loadTextModel(bytes, tokenizer, name, textOptions()) }),
    describeError: (m) => (m.includes(name) ? `Could not load the text model: ${m}` : `Could not load the text model “${name}”: ${m}`),
  });
  if (!result) return false;
  state.model = result.model;
  if (state.data?.precomputed) {
    state.data = null;
    renderDataInfo(ui.dataInfo, null);
  }
  renderModelInfo(ui.modelInfo, result.model);
  modelPanel.show(null);
  setStatus(`Text model ${name} loaded: embedding dimension ${result.model.embedding_dim}, pooling ${textOptions().pooling}${textOptions().normalize ? ', L2-normalised' : ''}.`);
  markStale();
  refresh();
  return true;
}

/** The chosen text model and tokenizer.json, once both are chosen (again on a pooling change). */
async function loadTextModelFiles() {
  const model = ui.textModelFile.files?.[0];
  const tok = ui.tokenizerFile.files?.[0];
  if (!model || !tok) {
    if (model || tok) setStatus(model ? 'Now choose the model’s tokenizer.json.' : 'Now choose the text model (.onnx).');
    return;
  }
  let bytes;
  let tokenizer;
  try {
    bytes = await model.arrayBuffer();
    tokenizer = { bytes: await tok.arrayBuffer(), name: tok.name };
  } catch (err) {
    showError(`Could not read the text model: ${err.message}`);
    return;
  }
  await loadTextModelBytes(bytes, tokenizer, model.name);
}

/** Loads a text data set (CSV with text,label, or JSONL). */
async function loadTextDataBytes(bytes, name) {
  const result = await perform({
    start: async () => ({ data: await engine.loadTextData(bytes, name) }),
    describeError: (m) => (m.includes(name) ? `Could not load the texts: ${m}` : `Could not load the texts “${name}”: ${m}`),
  });
  if (!result) return false;
  state.data = result.data;
  ui.dataInput.value = '';
  renderDataInfo(ui.dataInfo, result.data);
  setStatus(`Texts ${name} loaded: ${result.data.n} texts in ${result.data.classes.length} classes.`);
  markStale();
  refresh();
  return true;
}

async function loadTextDataFile() {
  const file = ui.textDataFile.files?.[0];
  if (!file) return;
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    showError(`Could not read “${file.name}”: ${err.message}`);
    return;
  }
  if (!(await loadTextDataBytes(bytes, file.name))) ui.textDataFile.value = '';
}

async function fetchArrayBuffer(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** Text demo: MiniLM (models/minilm, when served) and TREC-6 questions; then press Run. */
async function loadTextDemo() {
  setStatus('Fetching the text demo (all-MiniLM-L6-v2, 90 MB, and TREC-6 questions)…');
  let files;
  try {
    files = await Promise.all([TEXT_DEMO_MODEL_URL, TEXT_DEMO_TOKENIZER_URL, TEXT_DEMO_DATA_URL].map(fetchArrayBuffer));
  } catch (err) {
    showError(`Text demo failed: ${err.message}`);
    return;
  }
  const [model, tokenizer, data] = files;
  if (!(await loadTextModelBytes(model, { bytes: tokenizer, name: 'tokenizer.json' }, 'all-MiniLM-L6-v2 model.onnx'))) return;
  if (!(await loadTextDataBytes(data, 'trec6_sample.csv'))) return;
  setStatus('Text demo loaded: all-MiniLM-L6-v2 and 600 TREC-6 questions in 6 classes. Press Run.');
}

/** Shows the Text demo button when models/minilm is served (make serve / make test build it). */
async function offerTextDemo() {
  try {
    const response = await fetch(TEXT_DEMO_TOKENIZER_URL, { method: 'HEAD' });
    ui.textDemo.hidden = !response.ok;
  } catch {
    ui.textDemo.hidden = true;
  }
}

/**
 * Loads the chosen model preset: an image encoder fetched from this site with the preset's
 * preprocessing (applied when the proposal differs), or the Text demo for MiniLM.
 */
async function loadModelPreset() {
  const key = ui.modelPreset.value;
  const preset = MODEL_PRESETS[key];
  if (!preset) return;
  if (preset.text) {
    await loadTextDemo();
    return;
  }
  setStatus(`Fetching the ${preset.label} model…`);
  const result = await perform({
    start: async () => {
      const bytes = await fetchArrayBuffer(preset.url);
      let model = await engine.loadModel(bytes, baseName(preset.url));
      const proposed = model.preprocessing?.options ?? {};
      const want = preset.preprocess;
      if (want && (['resize', 'color', 'scale'].some((k) => proposed[k] !== want[k]) || (preset.output && model.output !== preset.output))) {
        model = await engine.setModelOptions({ preprocess: want, output: preset.output ?? null, pooling: 'flatten' });
      }
      return { model };
    },
    describeError: (m) => `Could not load the ${preset.label} preset: ${m}`,
  });
  if (!result) {
    ui.modelPreset.value = '';
    return;
  }
  state.model = result.model;
  ui.modelInput.value = '';
  if (state.data?.precomputed) {
    // The engine dropped the precomputed embeddings: a model is for images.
    state.data = null;
    renderDataInfo(ui.dataInfo, null);
  }
  renderModelInfo(ui.modelInfo, result.model);
  modelPanel.show(result.model);
  setStatus(`Model preset ${preset.label} loaded: embedding dimension ${result.model.embedding_dim}. Now choose labelled images.`);
  markStale();
  refresh();
}

/** Offers the presets whose files this site serves (models/ exists after `make models`). */
async function offerModelPresets() {
  for (const [value, preset] of Object.entries(MODEL_PRESETS)) {
    if (!preset.probe) continue;
    let ok = false;
    try {
      ok = (await fetch(preset.probe, { method: 'HEAD' })).ok;
    } catch {
      ok = false;
    }
    if (ok && !ui.modelPreset.querySelector(`option[value="${value}"]`)) {
      ui.modelPreset.append(Object.assign(document.createElement('option'), { value, textContent: preset.label }));
    }
  }
}

/** The folder picker's files: paths relative to the chosen folder, whose name names the data. */
function loadPickedFolder() {
  const picked = [...(ui.dataFolder.files ?? [])];
  if (picked.length === 0) return;
  const rel = (f) => f.webkitRelativePath || f.name;
  const name = rel(picked[0]).split('/')[0] || 'folder';
  const entries = picked.map((file) => ({ path: rel(file).split('/').slice(1).join('/') || file.name, file }));
  loadFolderFiles(entries, name);
}

/** Every file under the dropped entries (FileSystemEntry), read recursively; paths below `prefix`. */
async function filesOfEntries(entries, prefix) {
  const out = [];
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile) {
      out.push({ path, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) });
    } else if (entry.isDirectory) {
      out.push(...(await filesOfEntries(await readAll(entry), path)));
    }
  }
  return out;
}

/** The entries of a dropped directory: readEntries gives a batch at a time (100 in Chromium) until an empty one. */
async function readAll(directory) {
  const reader = directory.createReader();
  const children = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return children;
    children.push(...batch);
  }
}

/** A dropped folder (or several entries with a folder among them) as the data set. */
async function loadDroppedEntries(entries) {
  const single = entries.length === 1 && entries[0].isDirectory;
  const name = single ? entries[0].name : 'dropped folder';
  let files;
  try {
    // A single folder's own name is not part of its files' paths (as with the picker).
    files = single ? await filesOfEntries(await readAll(entries[0]), '') : await filesOfEntries(entries, '');
  } catch (err) {
    showError(`Could not read the dropped folder “${name}”: ${err.message}`);
    return;
  }
  loadFolderFiles(files, name);
}

function downloadReport() {
  if (!state.reportJson) return;
  downloadBlob(new Blob([state.reportJson], { type: 'application/json' }), 'downstream-report.json');
}

function downloadHtml() {
  const report = state.report;
  if (!report) return;
  const charts = reportCharts(report, { scatter: ui.scatter.querySelector('svg.embedding-scatter') });
  const html = htmlReport(report, { charts });
  downloadBlob(new Blob([html], { type: 'text/html' }), 'downstream-report.html');
}

function exportCsv() {
  const cm = state.report?.metrics?.confusion_matrix;
  if (!cm) return;
  const mode = ui.cmNormalize.value;
  const csv = matrixCsv(cm.labels, normalizeMatrix(cm.matrix, mode), classOrder(cm.matrix, ui.cmSort.value));
  downloadBlob(new Blob([csv], { type: 'text/csv' }), `downstream-confusion-matrix-${mode === 'none' ? 'counts' : mode}.csv`);
}

async function exportChart(button) {
  const tools = button.closest('.chart-tools');
  const svg = document.getElementById(tools.dataset.chart)?.querySelector('svg');
  if (!svg) return;
  const name = `downstream-${tools.dataset.chart}`;
  if (button.dataset.testid === 'export-svg') {
    downloadBlob(new Blob([svgText(svg)], { type: 'image/svg+xml' }), `${name}.svg`);
    return;
  }
  try {
    downloadBlob(await svgToPngBlob(svg), `${name}.png`);
  } catch (err) {
    showError(`Could not make the PNG: ${err.message}`);
  }
}

async function makeShareLink() {
  if (!state.report) return;
  ui.shareLink.disabled = true;
  try {
    const { fragment, dropped } = await reportFragment(state.report);
    ui.shareBox.hidden = false;
    ui.shareNote.hidden = dropped.length === 0;
    ui.shareNote.dataset.dropped = dropped.join(',');
    if (fragment === null) {
      ui.shareUrl.value = '';
      ui.shareNote.textContent = 'This report is too large for a link, even without its curves and per-sample predictions. Download the report file and share that instead.';
      return;
    }
    ui.shareUrl.value = `${location.origin}${location.pathname}#${fragment}`;
    ui.shareNote.textContent = droppedText(dropped);
    ui.shareUrl.focus();
    ui.shareUrl.select();
  } catch (err) {
    showError(`Could not make a share link: ${err.message}`);
  } finally {
    ui.shareLink.disabled = false;
  }
}

/** Validates report text in the worker and shows it; a bad report keeps what is shown. */
async function openReportText(text, source, errorPrefix) {
  const result = await perform({
    start: async () => ({ report: await engine.parseReport(text) }),
    describeError: (m) => `${errorPrefix}: ${m}`,
  });
  if (!result) return false;
  showReport(result.report, text, { source });
  refresh();
  return true;
}

async function openReportFile(file) {
  if (!file) return;
  let text;
  try {
    text = await file.text();
  } catch (err) {
    showError(`Could not read report file “${file.name}”: ${err.message}`);
    return;
  }
  await openReportText(text, `Report opened from the file ${file.name}.`, `Could not open “${file.name}”`);
  ui.reportInput.value = '';
}

async function openReportFromHash() {
  let text;
  try {
    text = await reportFromHash(location.hash);
  } catch (err) {
    showError(`Could not open the shared report: ${err.message}`);
    return;
  }
  if (text === null) return;
  const dropped = droppedText(droppedFromHash(location.hash));
  await openReportText(text, `Report opened from a share link.${dropped ? ` ${dropped}` : ''}`, 'Could not open the shared report');
}

/** Classroom presets (`?preset=NAME`): the probe setting each name selects (the CLI's --probe names). */
const PRESETS = {
  logreg: { probe: 'logistic_regression' },
  knn: { probe: 'knn_weighted' },
  'knn-vote': { probe: 'knn_vote' },
  centroid: { probe: 'nearest_centroid' },
  mlp: { probe: 'mlp' },
};

/** Applies ?preset=NAME to the settings; returns a sentence saying what it set, or null after an error. */
function applyPreset(name) {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : null;
  if (!preset) {
    showError(`This link asks for the preset “${name}”, which this page does not know. Known presets: ${Object.keys(PRESETS).join(', ')}. Nothing was fetched.`);
    return null;
  }
  ui.probeKind.value = preset.probe;
  ui.probeKind.dispatchEvent(new Event('change', { bubbles: true }));
  const label = ui.probeKind.selectedOptions[0]?.textContent ?? preset.probe;
  return `the probe is set to ${label} (preset “${name}”)`;
}

/** Classroom links: ?model=URL&data=URL[&preset=NAME][&run=1] fetch those files (same origin only) and load them. */
async function openClassroomLink() {
  const params = new URLSearchParams(location.search);
  const model = params.get('model');
  const data = params.get('data');
  const presetName = params.get('preset');
  let presetText = null;
  if (presetName !== null) {
    presetText = applyPreset(presetName);
    if (!presetText) return;
    if (model === null && data === null) {
      ui.fetchNote.hidden = false;
      ui.fetchNote.textContent = `This link sets the settings only: ${presetText}.`;
      return;
    }
  }
  if (model === null && data === null) return;
  const run = params.get('run') === '1';
  if (!model || !data) {
    showError('This link names only one of model= and data=; a classroom link needs both.');
    return;
  }
  let modelUrl;
  let dataUrl;
  try {
    modelUrl = new URL(model, location.href);
    dataUrl = new URL(data, location.href);
  } catch {
    showError(`This link's model or data address is not a valid URL: “${model}”, “${data}”.`);
    return;
  }
  ui.fetchNote.hidden = false;
  ui.fetchNote.textContent =
    `This link fetches the model from ${modelUrl.href} and the images from ${dataUrl.href}` +
    `${presetText ? `; ${presetText}` : ''}${run ? '; then it runs the evaluation' : ''}. The files are only read in this page.`;
  const foreign = [modelUrl, dataUrl].filter((u) => u.origin !== location.origin);
  if (foreign.length > 0) {
    showError(
      `Not fetched: ${foreign.map((u) => u.href).join(' and ')} ${foreign.length === 1 ? 'is' : 'are'} on another site. ` +
        `This page may only fetch files from its own site (${location.origin}); put them next to the page or download them and choose them above.`,
    );
    return;
  }
  const config = readConfig();
  if (!config) return;
  const started = performance.now();
  const result = await perform({
    start: () => runUrls(modelUrl.href, dataUrl.href, run ? config : null),
    describeError: (m) => `Classroom link failed: ${m}`,
  });
  if (!result) return;
  if (result.report) {
    showReport(result.report, result.reportJson, { seconds: (performance.now() - started) / 1000, run: result.run });
  } else {
    setStatus(`Loaded ${result.model.name} and ${result.data.name}. Press Run to evaluate.`);
  }
  refresh();
}

function onDrop(event) {
  event.preventDefault();
  document.documentElement.classList.remove('dragging');
  // Entries must be taken during the drop event; a folder among them is a data set.
  const entries = [...(event.dataTransfer?.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.some((e) => e.isDirectory)) {
    if (state.ready && state.busy === 0) loadDroppedEntries(entries);
    return;
  }
  const file = event.dataTransfer?.files?.[0];
  if (!file || !state.ready || state.busy > 0) return;
  const name = file.name.toLowerCase();
  if (name.endsWith('.onnx')) {
    setInputFile(ui.modelInput, file, 'model');
  } else if (/\.(npz|csv)$/.test(name)) {
    const dt = new DataTransfer();
    dt.items.add(file);
    ui.embeddingsInput.files = dt.files;
    loadEmbeddingsFiles();
  } else if (name.endsWith('.zip')) {
    setInputFile(ui.dataInput, file, 'data');
  } else {
    openReportFile(file);
  }
}

/** Puts a dropped file into a file input and loads it as if it had been chosen. */
function setInputFile(input, file, kind) {
  const dt = new DataTransfer();
  dt.items.add(file);
  input.files = dt.files;
  loadFile(input, kind);
}

function cancel() {
  if (state.cancellable === null) return;
  setStatus('Cancelling…');
  state.cancellable();
}

async function clearEmbeddingCache() {
  try {
    const count = await engine.clearCache();
    setStatus(count === 1 ? 'Cleared 1 cached set of embeddings.' : `Cleared ${count} cached sets of embeddings.`);
  } catch (err) {
    showError(`Could not clear the embedding cache: ${err.message}`);
  }
}

ui.runDemo.addEventListener('click', runDemo);
ui.run.addEventListener('click', runEvaluate);
ui.cancel.addEventListener('click', cancel);
ui.clearCache.addEventListener('click', clearEmbeddingCache);
ui.download.addEventListener('click', downloadReport);
ui.downloadHtml.addEventListener('click', downloadHtml);
ui.shareLink.addEventListener('click', makeShareLink);
ui.reportInput.addEventListener('change', () => openReportFile(ui.reportInput.files?.[0]));
ui.cmNormalize.addEventListener('change', renderMatrix);
ui.cmSort.addEventListener('change', renderMatrix);
ui.curveClasses.addEventListener('change', renderCurves);
ui.cmZoomIn.addEventListener('click', () => zoomMatrix(1));
ui.cmZoomOut.addEventListener('click', () => zoomMatrix(-1));
ui.cmZoomFit.addEventListener('click', () => zoomMatrix('fit'));
ui.scatter.addEventListener('pointerdown', onScatterDown);
ui.scatter.addEventListener('keydown', onScatterKey);
ui.mapMethod.addEventListener('change', () => {
  if (state.report) renderScatter(state.report, { fromRun: state.scatterFromRun, method: ui.mapMethod.value });
});
ui.mapPerplexity.addEventListener('change', () => {
  if (state.report && ui.mapMethod.value === 'tsne') renderScatter(state.report, { fromRun: state.scatterFromRun, method: 'tsne' });
});
ui.compareStart.addEventListener('click', startCompare);
ui.matrix.addEventListener('click', (event) => {
  const cell = event.target.closest?.('.cell');
  if (cell) openGallery(cell);
});
ui.matrix.addEventListener('keydown', onMatrixKey);
ui.gallery.addEventListener('click', (event) => {
  if (event.target.closest?.('[data-action="close-gallery"]')) dismissGallery();
  const neighboursButton = event.target.closest?.('[data-action="neighbours"]');
  if (neighboursButton) toggleNeighbours(neighboursButton);
});
for (const button of document.querySelectorAll('[data-testid="export-cm-csv"]')) button.addEventListener('click', exportCsv);
for (const button of document.querySelectorAll('[data-testid="export-svg"], [data-testid="export-png"]')) {
  button.addEventListener('click', () => exportChart(button));
}
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  document.documentElement.classList.add('dragging');
});
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) document.documentElement.classList.remove('dragging');
});
document.addEventListener('drop', onDrop);
window.addEventListener('hashchange', () => {
  if (state.ready) openReportFromHash();
});
ui.modelInput.addEventListener('change', () => loadFile(ui.modelInput, 'model'));
ui.probeKind.addEventListener('change', () => {
  ui.headField.hidden = ui.probeKind.value !== 'onnx_head';
});
ui.headFile.addEventListener('change', loadHeadFile);
ui.dataInput.addEventListener('change', () => loadFile(ui.dataInput, 'data'));
ui.embeddingsInput.addEventListener('change', loadEmbeddingsFiles);
ui.dataFolder.addEventListener('change', loadPickedFolder);
ui.manifestFile.addEventListener('change', loadManifestFile);
ui.textModelFile.addEventListener('change', loadTextModelFiles);
ui.tokenizerFile.addEventListener('change', loadTextModelFiles);
ui.textPooling.addEventListener('change', loadTextModelFiles);
ui.textNormalize.addEventListener('change', loadTextModelFiles);
ui.textDataFile.addEventListener('change', loadTextDataFile);
ui.textDemo.addEventListener('click', loadTextDemo);
offerTextDemo();
ui.modelPreset.addEventListener('change', loadModelPreset);
offerModelPresets();
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  if (state.cancellable !== null) cancel();
  else if (!ui.gallery.hidden) dismissGallery();
});

renderMetricHelp(ui.metricHelp);
refresh();
