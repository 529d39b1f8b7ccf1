// DOM rendering of model/data info, metrics, tables and status. User strings via textContent only.

/** Creates an element; string/number children become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

/** 4-decimal display; '—' for missing or non-finite values. */
export function fmt(x, digits = 4) {
  return isNum(x) ? x.toFixed(digits) : '—';
}

const intFmt = new Intl.NumberFormat('en');
const fmtInt = (x) => (isNum(x) ? intFmt.format(x) : '—');

function shapeText(shape) {
  return Array.isArray(shape) ? `[${shape.map(String).join(', ')}]` : String(shape ?? '—');
}

function shortHash(hex) {
  return typeof hex === 'string' && hex.length > 16 ? `${hex.slice(0, 12)}…` : String(hex ?? '—');
}

function dl(rows) {
  return el(
    'dl',
    { class: 'kv' },
    rows.map(([term, value, title]) => [el('dt', { title }, term), el('dd', {}, value)]),
  );
}

export function renderModelInfo(container, model) {
  if (!model) {
    container.replaceChildren(el('p', { class: 'muted' }, 'No model loaded.'));
    return;
  }
  const hash = el('code', { title: model.sha256 }, shortHash(model.sha256));
  container.replaceChildren(
    dl([
      ['File', model.name],
      ['Input', `${model.input_name} ${shapeText(model.input_shape)}`],
      ['Layout', `${model.layout} · ${model.channels} ch · ${model.height}×${model.width}`, 'How images are fed to the model'],
      ['Embedding dim', String(model.embedding_dim), 'Length of the representation vector the probe is trained on'],
      ['SHA-256', hash],
    ]),
  );
}

export function renderDataInfo(container, data) {
  if (!data) {
    container.replaceChildren(el('p', { class: 'muted' }, 'No data loaded.'));
    return;
  }
  const classes = data.classes ?? [];
  const counts = data.counts ?? [];
  const skipped = data.skipped ?? [];
  const classTable = el(
    'table',
    { class: 'compact' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Class'), el('th', { scope: 'col', class: 'num' }, 'Images'))),
    el(
      'tbody',
      {},
      classes.map((c, i) => el('tr', {}, el('th', { scope: 'row' }, c), el('td', { class: 'num' }, fmtInt(counts[i])))),
    ),
  );
  const parts = [
    dl([
      ['File', data.name],
      ['Images', fmtInt(data.n)],
      ['Classes', String(classes.length)],
      ['SHA-256', el('code', { title: data.sha256 }, shortHash(data.sha256))],
    ]),
    el('details', {}, el('summary', {}, `Images per class (${classes.length})`), el('div', { class: 'table-scroll' }, classTable)),
  ];
  if (skipped.length > 0) {
    parts.push(
      el(
        'details',
        { class: 'skipped' },
        el('summary', {}, `Skipped files (${skipped.length})`),
        el(
          'ul',
          {},
          skipped.map((s) => el('li', {}, el('code', {}, s.path), ' — ', s.reason)),
        ),
      ),
    );
  }
  container.replaceChildren(...parts);
}

/** [key, label, explanation, testid?] for the metric tiles, in display order. */
const METRICS = [
  ['accuracy', 'Accuracy', 'Fraction of test images whose predicted class is correct.', 'metric-accuracy'],
  ['macro_f1', 'Macro F1', 'Unweighted mean of per-class F1 scores; every class counts equally.', 'metric-macro-f1'],
  ['balanced_accuracy', 'Balanced accuracy', 'Mean of per-class recall; robust to class imbalance.'],
  ['weighted_f1', 'Weighted F1', 'Mean of per-class F1 weighted by class support.'],
  ['mcc', 'MCC', 'Matthews correlation coefficient (multiclass): 1 perfect, 0 chance level.'],
  ['cohen_kappa', "Cohen's kappa", 'Agreement between predictions and labels, corrected for chance.'],
  ['log_loss', 'Log loss', 'Cross-entropy of the predicted probabilities; lower is better.'],
  ['roc_auc_ovr_macro', 'ROC AUC', 'One-vs-rest ROC AUC, macro-averaged over classes.'],
  ['top_2_accuracy', 'Top-2 accuracy', 'Fraction of test images whose true class is among the two most probable.'],
  ['macro_precision', 'Macro precision', 'Unweighted mean of per-class precision.'],
  ['macro_recall', 'Macro recall', 'Unweighted mean of per-class recall.'],
];

export function renderMetrics(container, metrics) {
  container.replaceChildren(
    ...METRICS.map(([key, label, help, testid]) => {
      const x = metrics?.[key];
      const value = el('span', { class: 'metric-value', 'data-testid': testid, 'data-value': String(x) }, fmt(x));
      return el('div', { class: 'metric', title: help }, el('span', { class: 'metric-label' }, label), value);
    }),
  );
}

export function renderRunInfo(container, report) {
  const p = report.protocol ?? {};
  const probe = report.probe ?? {};
  const pre = report.preprocessing ?? {};
  container.replaceChildren(
    dl([
      ['Protocol', `${p.name} · seed ${p.seed} · test fraction ${p.test_fraction}`, 'Stratified hold-out: each class is split train/test in the same proportion'],
      ['Train / test', `${fmtInt(p.n_train)} / ${fmtInt(p.n_test)} images`],
      [
        'Probe',
        `${probe.kind} · C ${probe.c} · ${probe.penalty} · ${probe.solver} · ${probe.iterations}/${probe.max_iter} iterations · ${probe.converged ? 'converged' : 'not converged'}`,
        'Linear probe trained on frozen embeddings; C is the inverse regularisation strength',
      ],
      ['Input', `${pre.height}×${pre.width}, ${pre.channels} ch, ${pre.layout}`],
      ['Scaling', String(pre.scale)],
      ['Resizing', String(pre.resize)],
      ['Tool', `${report.tool?.name} ${report.tool?.version}`],
    ]),
  );
}

export function renderWarnings(container, warnings) {
  const list = warnings ?? [];
  container.hidden = list.length === 0;
  container.replaceChildren(
    el('h3', {}, 'Warnings'),
    el('ul', {}, list.map((w) => el('li', {}, w))),
  );
}

export function renderPerClassTable(table, metrics) {
  const labels = metrics?.confusion_matrix?.labels ?? Object.keys(metrics?.per_class ?? {});
  const perClass = metrics?.per_class ?? {};
  table.replaceChildren(
    el('caption', {}, 'Per-class metrics on the test split'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Class'),
        el('th', { scope: 'col', class: 'num', title: 'Of the images predicted as this class, the fraction that are' }, 'Precision'),
        el('th', { scope: 'col', class: 'num', title: 'Of the images of this class, the fraction predicted as it' }, 'Recall'),
        el('th', { scope: 'col', class: 'num', title: 'Harmonic mean of precision and recall' }, 'F1'),
        el('th', { scope: 'col', class: 'num', title: 'Number of test images of this class' }, 'Support'),
      ),
    ),
    el(
      'tbody',
      {},
      labels.map((label) => {
        const m = perClass[label] ?? {};
        return el(
          'tr',
          { 'data-class': label },
          el('th', { scope: 'row' }, label),
          el('td', { class: 'num', 'data-value': String(m.precision) }, fmt(m.precision)),
          el('td', { class: 'num', 'data-value': String(m.recall) }, fmt(m.recall)),
          el('td', { class: 'num', 'data-value': String(m.f1) }, fmt(m.f1)),
          el('td', { class: 'num', 'data-value': String(m.support) }, fmtInt(m.support)),
        );
      }),
    ),
  );
}

export function setProgress(progress, text, done, total) {
  if (isNum(total) && total > 0) {
    progress.max = total;
    progress.value = done;
    progress.textContent = `${done} / ${total}`;
    text.textContent = `${fmtInt(done)} / ${fmtInt(total)} images embedded`;
  } else {
    progress.removeAttribute('value');
    progress.textContent = '';
    text.textContent = '';
  }
}
