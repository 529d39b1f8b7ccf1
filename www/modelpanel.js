// The model panel's options: the preprocessing proposed from the model's input (scale
// preset, mean/std, resize, channel order), the output used as the embedding and its
// pooling, and the fidelity check against reference embeddings made in Python. Changing
// an option reloads the model with it in the engine (cached embeddings are keyed by it).
// Everything from files is shown with textContent.

const $ = (id) => document.getElementById(id);

const PRESET_NOTE = {
  'zero-one': 'value = pixel / 255',
  'minus-one-one': 'value = (pixel / 255 − 0.5) / 0.5',
  'zero-255': 'value = pixel',
  imagenet: 'value = (pixel / 255 − mean) / std, ImageNet mean and std',
  custom: 'value = (pixel / 255 − mean) / std, your mean and std',
};

/** "a, b, c" -> numbers, or null when a value is not a number. */
export function parseList(text) {
  const parts = String(text).split(/[,\s]+/).filter((p) => p !== '');
  if (parts.length === 0) return null;
  const values = parts.map(Number);
  return values.every(Number.isFinite) ? values : null;
}

function shapeText(shape) {
  return `[${(shape ?? []).map((d) => String(d)).join(', ')}]`;
}

/** The fidelity result as one line of text. */
export function fidelityText(f) {
  return (
    `Fidelity vs ${f.name}: ${f.n} items × ${f.dim}; max-abs difference ${f.max_abs.toExponential(2)}, ` +
    `cosine similarity mean ${f.mean_cosine.toFixed(8)}, min ${f.min_cosine.toFixed(8)} (item ${f.worst_row}).`
  );
}

export class ModelPanel {
  /**
   * @param {object} o
   * @param {import('./engine.js').Engine} o.engine
   * @param {() => boolean} o.isBusy a run or a load is in progress
   * @param {(model: object) => void} o.onChanged the model was reloaded with new options
   */
  constructor({ engine, isBusy, onChanged }) {
    this.engine = engine;
    this.isBusy = isBusy;
    this.onChanged = onChanged;
    this.model = null;
    this.ui = {
      form: $('model-options'),
      preset: $('preprocess-preset'),
      mean: $('preprocess-mean'),
      std: $('preprocess-std'),
      resize: $('preprocess-resize'),
      cropRatio: $('preprocess-crop-ratio'),
      color: $('preprocess-color'),
      output: $('model-output'),
      outputField: $('model-output-field'),
      pooling: $('model-pooling'),
      poolingField: $('model-pooling-field'),
      status: $('model-options-status'),
      notes: $('model-notes'),
      fidelityFile: $('fidelity-file'),
      fidelity: $('fidelity-result'),
    };
    const u = this.ui;
    u.form.addEventListener('submit', (e) => e.preventDefault());
    for (const control of [u.preset, u.mean, u.std, u.resize, u.cropRatio, u.color, u.output, u.pooling]) {
      control.addEventListener('change', () => this.apply(control));
    }
    u.fidelityFile.addEventListener('change', () => this.checkFidelity());
  }

  /** Shows the options of a freshly loaded model (its proposal), or hides the panel. */
  show(model) {
    this.model = model;
    const u = this.ui;
    u.form.hidden = !model || !model.preprocessing?.options;
    u.status.textContent = '';
    u.fidelity.textContent = '';
    delete u.fidelity.dataset.state;
    if (u.form.hidden) return;
    this.fill(model);
  }

  fill(model) {
    const u = this.ui;
    const o = model.preprocessing.options;
    u.preset.value = o.scale;
    u.mean.value = o.mean.join(', ');
    u.std.value = o.std.join(', ');
    u.mean.disabled = u.std.disabled = o.scale !== 'custom';
    u.resize.value = o.resize;
    u.cropRatio.value = String(o.crop_ratio);
    u.cropRatio.disabled = o.resize !== 'crop';
    u.color.value = o.color;
    for (const opt of u.color.options) opt.disabled = model.channels === 1 && opt.value !== 'gray';
    const outputs = model.outputs ?? [];
    u.outputField.hidden = outputs.length < 2;
    u.output.replaceChildren(
      ...outputs.map((out) => {
        const opt = document.createElement('option');
        opt.value = out.name;
        opt.textContent = `${out.name} ${shapeText(out.shape)}`;
        return opt;
      }),
    );
    u.output.value = model.output;
    u.poolingField.hidden = (model.output_shape ?? []).length <= 2;
    u.pooling.value = model.pooling ?? 'flatten';
    const notes = model.notes ?? [];
    u.notes.hidden = notes.length === 0;
    u.notes.textContent = notes.join(' ');
    u.preset.title = PRESET_NOTE[o.scale] ?? '';
  }

  /** The options the form asks for; throws with a message when a number is bad. */
  options(changed) {
    const u = this.ui;
    const scale = u.preset.value;
    let mean = [];
    let std = [];
    if (scale === 'custom') {
      // Switching to custom starts from the values in use.
      mean = parseList(u.mean.value);
      std = parseList(u.std.value);
      if (!mean || !std) throw new Error('Mean and std must be numbers separated by commas, e.g. 0.5, 0.5, 0.5.');
    }
    const cropRatio = Number(u.cropRatio.value);
    if (u.resize.value === 'crop' && !(cropRatio > 0.1 && cropRatio <= 1)) throw new Error('The crop ratio must be in (0.1, 1], e.g. 0.875.');
    let output = u.output.value || null;
    if (changed === u.output) output = u.output.value;
    return {
      preprocess: { resize: u.resize.value, crop_ratio: cropRatio || 0.875, color: u.color.value, scale, mean, std },
      output,
      pooling: changed === u.output ? 'flatten' : u.pooling.value,
    };
  }

  async apply(changed) {
    const u = this.ui;
    if (!this.model) return;
    if (this.isBusy()) {
      this.fill(this.model);
      u.status.textContent = 'Wait for the current step to finish, then change the options.';
      return;
    }
    let options;
    try {
      options = this.options(changed);
    } catch (err) {
      u.status.textContent = err.message;
      return;
    }
    u.status.textContent = 'Reloading the model with these options…';
    u.form.setAttribute('aria-busy', 'true');
    try {
      const model = await this.engine.setModelOptions(options);
      this.model = model;
      this.fill(model);
      u.status.textContent = `Options applied: ${model.preprocessing.scale}; embedding ${model.output} (${model.pooling}), dimension ${model.embedding_dim}. Embeddings will be computed again.`;
      u.fidelity.textContent = '';
      delete u.fidelity.dataset.state;
      this.onChanged(model);
    } catch (err) {
      this.fill(this.model);
      u.status.textContent = `Options not applied: ${err.message}`;
    } finally {
      u.form.removeAttribute('aria-busy');
    }
  }

  async checkFidelity() {
    const u = this.ui;
    const file = u.fidelityFile.files?.[0];
    u.fidelityFile.value = '';
    if (!file) return;
    if (this.isBusy()) {
      u.fidelity.textContent = 'Wait for the current step to finish, then choose the reference file again.';
      return;
    }
    u.fidelity.dataset.state = 'running';
    u.fidelity.textContent = `Embedding the first items to compare with ${file.name}…`;
    try {
      const f = await this.engine.fidelity(await file.arrayBuffer(), file.name);
      u.fidelity.dataset.state = 'done';
      u.fidelity.textContent = fidelityText(f);
    } catch (err) {
      u.fidelity.dataset.state = 'error';
      u.fidelity.textContent = `Fidelity check failed: ${err.message}`;
    }
  }
}
