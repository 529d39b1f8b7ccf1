// Page entry: wires the controls to the worker and renders what comes back.

import { WorkerClient } from './client.js';
import { confusionMatrixSvg } from './charts.js';
import {
  fmt,
  renderDataInfo,
  renderMetrics,
  renderModelInfo,
  renderPerClassTable,
  renderRunInfo,
  renderWarnings,
  setProgress,
} from './views.js';

const DEMO_MODEL_URL = new URL('../assets/demo/encoder.onnx', import.meta.url).href;
const DEMO_DATA_URL = new URL('../assets/demo/digits.zip', import.meta.url).href;

const $ = (id) => document.getElementById(id);
const ui = {
  runDemo: $('run-demo'),
  modelInput: $('model-input'),
  dataInput: $('data-input'),
  seed: $('seed'),
  testFraction: $('test-fraction'),
  c: $('c'),
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
  download: $('download-report'),
};

const state = {
  ready: false,
  busy: 0,
  /** id of the request the Cancel button stops, or null. */
  cancellable: null,
  hasError: false,
  model: null,
  data: null,
  report: null,
  reportJson: null,
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
  ui.run.disabled = !(idle && state.model && state.data);
  ui.cancel.disabled = state.cancellable === null;
  ui.seed.disabled = ui.testFraction.disabled = ui.c.disabled = state.busy > 0;
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

const client = new WorkerClient(new URL('./worker.js', import.meta.url));
client.ready.then(
  () => {
    state.ready = true;
    setStatus('Ready. Run the demo, or choose a model and a zip of labelled images.');
    refresh();
  },
  (err) => {
    setStatus('Not available.');
    showError(`The WebAssembly module could not be loaded: ${err.message}. (From a checkout, build it first with \`make build\`.)`);
  },
);

/** Runs one worker request with busy/progress bookkeeping. Returns the result or null. */
async function perform({ type, payload = {}, transfer = [], cancellable = false, onProgress, describeError }) {
  state.busy += 1;
  refresh();
  const { id, promise } = client.request(type, payload, { transfer, onProgress });
  if (cancellable) state.cancellable = id;
  refresh();
  try {
    const result = await promise;
    clearError();
    return result;
  } catch (err) {
    if (err.cancelled) {
      setStatus('Cancelled.');
    } else {
      setStatus('Failed.');
      showError(describeError(err.message));
    }
    return null;
  } finally {
    if (state.cancellable === id) state.cancellable = null;
    state.busy -= 1;
    setProgress(ui.progress, ui.progressText);
    refresh();
  }
}

function onProgress(msg) {
  switch (msg.phase) {
    case 'fetching':
      setStatus('Downloading the demo model and images…');
      break;
    case 'loading-model':
      setStatus('Loading the model…');
      break;
    case 'model-loaded':
      state.model = msg.model;
      renderModelInfo(ui.modelInfo, msg.model);
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
    case 'embedding':
      setStatus('Embedding images…');
      setProgress(ui.progress, ui.progressText, msg.done, msg.total);
      break;
    case 'evaluating':
      setStatus('Training the probe and computing metrics…');
      break;
    default:
      break;
  }
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
  return { seed, test_fraction: testFraction, c };
}

function currentNormalize() {
  return document.querySelector('input[name="cm-normalize"]:checked')?.value ?? 'none';
}

function renderMatrix() {
  const cm = state.report?.metrics?.confusion_matrix;
  if (!cm) {
    ui.matrix.replaceChildren();
    return;
  }
  ui.matrix.replaceChildren(confusionMatrixSvg(cm.labels, cm.matrix, { normalize: currentNormalize() }));
}

function showReport(report, reportJson, seconds) {
  state.report = report;
  state.reportJson = reportJson;
  renderMetrics(ui.metrics, report.metrics);
  renderWarnings(ui.warnings, report.metrics?.warnings);
  renderRunInfo(ui.runInfo, report);
  renderMatrix();
  renderPerClassTable(ui.perClass, report.metrics);
  ui.resultsNote.hidden = true;
  ui.results.hidden = false;
  setStatus(
    `Done in ${seconds.toFixed(1)} s: accuracy ${fmt(report.metrics?.accuracy)} on ${report.protocol?.n_test} test images.`,
  );
}

async function runDemo() {
  const config = readConfig();
  if (!config) return;
  const started = performance.now();
  const result = await perform({
    type: 'runDemo',
    payload: { modelUrl: DEMO_MODEL_URL, dataUrl: DEMO_DATA_URL, config },
    cancellable: true,
    onProgress,
    describeError: (m) => `Demo failed: ${m}`,
  });
  if (!result) return;
  ui.modelInput.value = '';
  ui.dataInput.value = '';
  showReport(result.report, result.reportJson, (performance.now() - started) / 1000);
  refresh();
}

async function runEvaluate() {
  const config = readConfig();
  if (!config) return;
  const started = performance.now();
  setStatus('Starting…');
  const result = await perform({
    type: 'evaluate',
    payload: { config },
    cancellable: true,
    onProgress,
    describeError: (m) => `Evaluation failed: ${m}`,
  });
  if (!result) return;
  showReport(result.report, result.reportJson, (performance.now() - started) / 1000);
  refresh();
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
    type: kind === 'model' ? 'loadModel' : 'loadData',
    payload: { bytes, name: file.name },
    transfer: [bytes],
    describeError: (m) => (m.includes(file.name) ? `Could not load ${what}: ${m}` : `Could not load ${what} “${file.name}”: ${m}`),
  });
  if (!result) {
    input.value = '';
    return;
  }
  if (kind === 'model') {
    state.model = result.model;
    renderModelInfo(ui.modelInfo, result.model);
    setStatus(`Model ${file.name} loaded: embedding dimension ${result.model.embedding_dim}.`);
  } else {
    state.data = result.data;
    renderDataInfo(ui.dataInfo, result.data);
    setStatus(`Data ${file.name} loaded: ${result.data.n} images in ${result.data.classes.length} classes.`);
  }
  markStale();
  refresh();
}

function downloadReport() {
  if (!state.reportJson) return;
  const blob = new Blob([state.reportJson], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = 'downstream-report.json';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function cancel() {
  if (state.cancellable === null) return;
  setStatus('Cancelling…');
  await client.cancel(state.cancellable);
}

ui.runDemo.addEventListener('click', runDemo);
ui.run.addEventListener('click', runEvaluate);
ui.cancel.addEventListener('click', cancel);
ui.download.addEventListener('click', downloadReport);
ui.modelInput.addEventListener('change', () => loadFile(ui.modelInput, 'model'));
ui.dataInput.addEventListener('change', () => loadFile(ui.dataInput, 'data'));
for (const radio of document.querySelectorAll('input[name="cm-normalize"]')) {
  radio.addEventListener('change', renderMatrix);
}
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.cancellable !== null) cancel();
});

refresh();
