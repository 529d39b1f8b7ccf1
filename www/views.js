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
  const splits = data.split_counts ?? [];
  const parts = [
    dl([
      ['File', data.name],
      ['Images', fmtInt(data.n)],
      ['Classes', String(classes.length)],
      ...(data.split_source ? [['Split', el('span', { 'data-testid': 'split-source' }, `given: ${data.split_source}`), 'The probe is fit on train and scored on test only']] : []),
      ['SHA-256', el('code', { title: data.sha256 }, shortHash(data.sha256))],
    ]),
    el('details', {}, el('summary', {}, `Images per class (${classes.length})`), el('div', { class: 'table-scroll' }, classTable)),
  ];
  if (splits.length > 0) {
    // Counts per class per part of an explicit split (train / val / test), as text.
    const splitTable = el(
      'table',
      { class: 'compact', 'data-testid': 'split-counts' },
      el('caption', {}, 'Images per class in each part'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Class'), splits.map((p) => el('th', { scope: 'col', class: 'num' }, String(p.split))))),
      // Rows straight in the table (no tbody): '#data-info tbody tr' stays the per-class table.
      classes.map((c, i) => el('tr', { 'data-class': c }, el('th', { scope: 'row' }, c), splits.map((p) => el('td', { class: 'num', 'data-split': String(p.split) }, fmtInt(p.counts?.[i] ?? 0))))),
      el('tfoot', {}, el('tr', {}, el('th', { scope: 'row' }, 'All'), splits.map((p) => el('td', { class: 'num' }, fmtInt((p.counts ?? []).reduce((a, b) => a + b, 0)))))),
    );
    parts.push(el('div', { class: 'table-scroll' }, splitTable));
  }
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

/** [key, label, short explanation, longer classroom explanation] in display order. */
export const METRICS = [
  ['accuracy', 'Accuracy', 'Fraction of test images whose predicted class is correct.',
    'Fraction of test images whose predicted class is the true one. Easy to read, but misleading when classes are imbalanced: always guessing the largest class can score high.'],
  ['balanced_accuracy', 'Balanced accuracy', 'Mean of per-class recall; robust to class imbalance.',
    'The recall of each class, averaged with every class counting equally. A probe that ignores a rare class is penalised. Chance level is 1 / number of classes.'],
  ['mcc', 'MCC', 'Matthews correlation coefficient (multiclass): 1 perfect, 0 chance level.',
    'Matthews correlation coefficient: the correlation between true and predicted classes over the whole confusion matrix. 1 is perfect, 0 is no better than chance, below 0 is worse than chance. Stays honest under class imbalance.'],
  ['macro_f1', 'Macro F1', 'Unweighted mean of per-class F1 scores; every class counts equally.',
    'F1 (the harmonic mean of precision and recall) computed for each class, then averaged with every class counting equally.'],
  ['weighted_f1', 'Weighted F1', 'Mean of per-class F1 weighted by class support.',
    'Per-class F1 averaged with each class weighted by its support (its number of test images), so large classes count more.'],
  ['cohen_kappa', "Cohen's kappa", 'Agreement between predictions and labels, corrected for chance.',
    'How much predictions and true labels agree beyond the agreement expected by chance from their class frequencies: 1 perfect, 0 chance level.'],
  ['macro_precision', 'Macro precision', 'Unweighted mean of per-class precision.',
    'Precision of a class: of the images predicted as that class, the fraction that truly are. Averaged over classes with equal weight.'],
  ['macro_recall', 'Macro recall', 'Unweighted mean of per-class recall.',
    'Recall of a class: of the images of that class, the fraction predicted as it. Averaged over classes with equal weight (the same number as balanced accuracy).'],
  ['log_loss', 'Log loss', 'Cross-entropy of the predicted probabilities; lower is better.',
    'The average of −log(probability the probe gave the true class). Rewards confident correct answers and punishes confident mistakes; 0 is perfect, lower is better.'],
  ['roc_auc_ovr_macro', 'ROC AUC', 'One-vs-rest ROC AUC, macro-averaged over classes.',
    'For each class, the chance that a random image of that class gets a higher score for it than a random image of another class (one-vs-rest), averaged over classes. 0.5 is chance, 1 is perfect.'],
  ['top_2_accuracy', 'Top-2 accuracy', 'Fraction of test images whose true class is among the two most probable.',
    'Fraction of test images whose true class is among the two classes the probe found most probable.'],
];

/** Metrics some reports have (by class count or probe), shown only when present; same layout as METRICS. */
export const OPTIONAL_METRICS = [
  ['top_5_accuracy', 'Top-5 accuracy', 'Fraction of test images whose true class is among the five most probable.',
    'Fraction of test images whose true class is among the five classes the probe found most probable (reported when there are more than five classes).'],
  ['average_precision', 'Average precision', 'Area under the precision–recall curve, one class vs the rest, averaged over classes.',
    'For each class against the rest, the precision averaged over every recall level as the threshold falls (the area under its precision–recall curve), then averaged over classes; for two classes, of the second class. 1 is perfect; chance is the class\'s share of the test set.'],
  ['ece', 'ECE', 'Expected calibration error: average gap between confidence and accuracy; lower is better.',
    'Expected calibration error: test images are grouped by the probe\'s confidence in its prediction (15 equal-width bins); ECE is the average gap between confidence and the fraction correct in each bin, weighted by bin size. 0 means a confidence of 0.8 is right 80 % of the time.'],
];

/** Other terms the results use, for the inline explanations. */
export const TERMS = [
  ['CI', 'Confidence interval (95 %) from resampling the test images with replacement (bootstrap): where the score would likely fall on another test set of the same size.'],
  ['Baselines', 'What the probe must beat on the same test split: always predicting the most frequent training class, a uniform random guess, and a guess with the training class frequencies.'],
  ['Support', 'The number of test images of a class. Scores of classes with few test images (fewer than 5 is flagged) change a lot with a single image.'],
  ['Confusion matrix', 'Row = true class, column = predicted class; the diagonal holds the correct predictions. Normalising over true labels shows each class\'s recall on the diagonal, over predicted labels its precision.'],
  ['Linear probe', 'A logistic-regression classifier trained on the frozen embeddings of the training split. A good representation makes the classes easy to separate with a straight boundary.'],
];

/** Classes with fewer test samples than this get a warning. */
export const MIN_SUPPORT = 5;

export const metricTestId = (key) => `metric-${key.replaceAll('_', '-')}`;

/** A metric's confidence interval from report.metrics.ci, in any of the usual shapes, or null. */
export function metricCi(metrics, key) {
  const ci = metrics?.ci?.[key];
  if (!ci) return null;
  const pair = Array.isArray(ci)
    ? ci
    : [ci.low ?? ci.lower ?? ci.lo ?? ci[0], ci.high ?? ci.upper ?? ci.hi ?? ci[1]];
  if (!pair.every(isNum)) return null;
  const level = isNum(ci.level) ? ci.level : isNum(metrics.ci.level) ? metrics.ci.level : null;
  return { low: pair[0], high: pair[1], level };
}

/** The optional metrics this report has, then numeric top-level metrics the page does not know yet. */
function extraMetrics(metrics) {
  const known = new Set([...METRICS, ...OPTIONAL_METRICS].map(([k]) => k));
  const optional = OPTIONAL_METRICS.filter(([k]) => isNum(metrics?.[k]));
  const unknown = Object.entries(metrics ?? {})
    .filter(([k, v]) => !known.has(k) && isNum(v))
    .map(([k]) => [k, k.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase()), 'Reported by the core; see the report JSON for its definition.']);
  return [...optional, ...unknown];
}

/** Every metric tile of a report, as [key, label, short help, long help]: METRICS, then the extras it has. */
export function shownMetrics(metrics) {
  return [...METRICS, ...extraMetrics(metrics)];
}

export function renderMetrics(container, metrics) {
  container.replaceChildren(
    ...shownMetrics(metrics).map(([key, label, help]) => {
      const x = metrics?.[key];
      const value = el('span', { class: 'metric-value', 'data-testid': metricTestId(key), 'data-value': String(x) }, fmt(x));
      const ci = metricCi(metrics, key);
      const ciText = ci
        ? el('span', { class: 'metric-ci', 'data-low': String(ci.low), 'data-high': String(ci.high) },
          `${ci.level ? `${Math.round(ci.level * 100)}% ` : ''}CI ${fmt(ci.low, 3)}–${fmt(ci.high, 3)}`)
        : null;
      return el('div', { class: 'metric', title: help }, el('span', { class: 'metric-label' }, label), value, ciText);
    }),
  );
}

/** The classroom explanations of every metric and term. */
export function renderMetricHelp(container) {
  container.replaceChildren(
    el('summary', {}, 'What do these numbers mean?'),
    el(
      'dl',
      { class: 'help-list' },
      [...METRICS, ...OPTIONAL_METRICS].map(([key, label, , long]) => [el('dt', { 'data-metric': key }, label), el('dd', {}, long)]),
      TERMS.map(([term, text]) => [el('dt', {}, term), el('dd', {}, text)]),
    ),
  );
}

/** Classes whose test support is below MIN_SUPPORT, as [label, support]. */
export function lowSupportClasses(metrics) {
  const labels = metrics?.confusion_matrix?.labels ?? Object.keys(metrics?.per_class ?? {});
  return labels
    .map((l) => [l, metrics?.per_class?.[l]?.support])
    .filter(([, s]) => isNum(s) && s < MIN_SUPPORT);
}

export function renderSupportWarning(container, metrics) {
  const low = lowSupportClasses(metrics);
  container.hidden = low.length === 0;
  const shown = low.slice(0, 20).map(([l, s]) => `${l} (${s})`).join(', ');
  container.replaceChildren(
    el('strong', {}, '⚠ Few test samples. '),
    `${low.length} class${low.length === 1 ? ' has' : 'es have'} fewer than ${MIN_SUPPORT} test images: ${shown}${low.length > 20 ? ', …' : ''}. ` +
      'Their precision, recall and F1 can change a lot with a single image; use more data or a larger test fraction.',
  );
}

/** One line describing the probe: the known fields first, then any others the core adds. */
export function probeText(probe) {
  const parts = [String(probe.kind ?? 'probe')];
  if (probe.c !== undefined) parts.push(`C ${probe.c}`);
  for (const k of ['penalty', 'solver']) if (probe[k] !== undefined) parts.push(String(probe[k]));
  if (probe.iterations !== undefined) parts.push(`${probe.iterations}/${probe.max_iter ?? '?'} iterations`);
  if (probe.converged !== undefined) parts.push(probe.converged ? 'converged' : 'not converged');
  const known = new Set(['kind', 'c', 'penalty', 'solver', 'iterations', 'max_iter', 'converged', 'tol', 'objective']);
  for (const [k, v] of Object.entries(probe)) {
    if (known.has(k) || v === null || typeof v === 'object') continue;
    parts.push(`${k.replaceAll('_', ' ')} ${v}`);
  }
  return parts.join(' · ');
}

export function renderRunInfo(container, report) {
  const p = report.protocol ?? {};
  const probe = report.probe ?? {};
  const pre = report.preprocessing ?? {};
  container.replaceChildren(
    dl([
      ['Protocol', `${p.name} · seed ${p.seed} · test fraction ${p.test_fraction}`, 'Stratified hold-out: each class is split train/test in the same proportion'],
      ['Train / test', `${fmtInt(p.n_train)} / ${fmtInt(p.n_test)} images`],
      ['Probe', probeText(probe), 'Linear probe trained on frozen embeddings; C is the inverse regularisation strength'],
      ...(report.baselines ? [[
        'Baselines',
        `majority class “${report.baselines.majority_class}” ${report.baselines.majority_accuracy.toFixed(4)} · chance ${report.baselines.chance_accuracy.toFixed(4)} · class frequencies ${report.baselines.stratified_chance_accuracy.toFixed(4)}`,
        'What the probe must beat on the same test split: always predicting the most frequent training class, a uniform random guess, and a guess with the training class frequencies',
      ]] : []),
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
        const low = isNum(m.support) && m.support < MIN_SUPPORT;
        return el(
          'tr',
          { 'data-class': label, class: low ? 'low-support' : undefined },
          el('th', { scope: 'row' }, label),
          el('td', { class: 'num', 'data-value': String(m.precision) }, fmt(m.precision)),
          el('td', { class: 'num', 'data-value': String(m.recall) }, fmt(m.recall)),
          el('td', { class: 'num', 'data-value': String(m.f1) }, fmt(m.f1)),
          el(
            'td',
            { class: 'num', 'data-value': String(m.support), title: low ? `Fewer than ${MIN_SUPPORT} test images: scores are unreliable` : undefined },
            low ? `⚠ ${fmtInt(m.support)}` : fmtInt(m.support),
          ),
        );
      }),
    ),
  );
}

/** Progress bar and text; eta (seconds left) is shown when known. */
export function setProgress(progress, text, done, total, eta) {
  if (isNum(total) && total > 0) {
    progress.max = total;
    progress.value = done;
    progress.textContent = `${done} / ${total}`;
    const left = isNum(eta) && done < total ? ` · ${etaText(eta)}` : '';
    text.textContent = `${fmtInt(done)} / ${fmtInt(total)} images embedded${left}`;
  } else {
    progress.removeAttribute('value');
    progress.textContent = '';
    text.textContent = '';
  }
}

/** How long is left, for progress texts: 'about 20 s left'. */
export function etaText(seconds) {
  if (seconds < 1) return 'less than a second left';
  if (seconds < 90) return `about ${Math.round(seconds)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

/**
 * Gallery of the test samples of one confusion-matrix cell. samples: [{index, confidence}];
 * returns a Map index -> {figure, img slot, path element} for filling in thumbnails later.
 */
export function renderGallery(container, { title, samples, note, neighbours = false }) {
  const slots = new Map();
  const figures = samples.map(({ index, confidence }) => {
    const thumb = el('div', { class: 'thumb', 'aria-hidden': 'true' });
    const path = el('span', { class: 'sample-path' }, `item ${index}`);
    const conf = el(
      'span',
      { class: 'sample-confidence', 'data-value': String(confidence), title: 'Probability the probe gave its predicted class' },
      `confidence ${fmt(confidence, 3)}`,
    );
    // k-NN reports of this page's run: a disclosure with the neighbours that voted.
    const panelId = `neighbours-${index}`;
    const disclosure = neighbours
      ? [
        el('button', { type: 'button', class: 'secondary neighbours-toggle', 'data-action': 'neighbours', 'data-index': String(index), 'aria-expanded': 'false', 'aria-controls': panelId }, 'Neighbours'),
        el('div', { class: 'neighbours', id: panelId, 'data-testid': 'neighbours', hidden: true }),
      ]
      : [];
    const figure = el('figure', { class: 'sample', 'data-sample': String(index) }, thumb, el('figcaption', {}, path, conf), disclosure);
    slots.set(index, { figure, thumb, path });
    return figure;
  });
  container.replaceChildren(
    ...[el('div', { class: 'gallery-head' },
      el('h3', { id: 'gallery-title' }, title),
      el('button', { type: 'button', class: 'secondary', 'data-action': 'close-gallery' }, 'Close')),
    note ? el('p', { class: 'hint gallery-note', 'data-testid': 'gallery-note' }, note) : null,
    el('div', { class: 'gallery-grid' }, figures)].filter(Boolean),
  );
  container.hidden = false;
  return slots;
}

const sigFmt = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

/**
 * Fills a gallery sample's neighbours panel with the k training items that voted
 * ([{item_index, similarity, weight, label}], most similar first): a thumbnail slot, class,
 * similarity and weight (`weighted`: exp(sim / T), else one vote each). Returns a Map
 * item index -> {thumb, path} for the thumbnails.
 */
export function renderNeighbours(container, { neighbours, labels, weighted }) {
  const slots = new Map();
  const items = neighbours.map((n) => {
    const thumb = el('div', { class: 'thumb', 'aria-hidden': 'true' });
    const path = el('span', { class: 'sample-path' }, `item ${n.item_index}`);
    slots.set(n.item_index, { thumb, path });
    return el(
      'li',
      { class: 'neighbour', 'data-neighbour': String(n.item_index), 'data-label': String(n.label), 'data-similarity': String(n.similarity), 'data-weight': String(n.weight) },
      thumb,
      path,
      el('span', { class: 'neighbour-class' }, String(labels?.[n.label] ?? n.label)),
      el('span', { class: 'sample-confidence' }, `similarity ${fmt(n.similarity, 3)}`),
      el('span', { class: 'sample-confidence' }, weighted ? `weight ${isNum(n.weight) ? sigFmt.format(n.weight) : '—'}` : '1 vote'),
    );
  });
  const what = weighted ? 'each weighted by exp(similarity / T)' : 'one vote each';
  container.replaceChildren(
    el('p', { class: 'hint' }, `The ${neighbours.length} nearest training samples (cosine similarity), ${what}:`),
    el('ol', { class: 'neighbour-list' }, items),
  );
  return slots;
}
