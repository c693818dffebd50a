// The lesionlab page: pick or drop an image, classify it in the browser, show probabilities and a CAM overlay.
import { heatScaleGradient } from '../../src/browser/cam.js';
import {
  type BrowserPrediction,
  camForClass,
  heatmapRgba,
  loadWebModel,
  preprocessRgba,
  preshrinkSize,
  type WebModel,
} from '../../src/browser/index.js';
import {
  describeFigures,
  figuresCaution,
  type ModelFigures,
  modelFigures,
  recallText,
} from '../../src/browser/model-figures.js';
import { BITMAP_OPTIONS } from '../../src/browser/preprocess.js';
import { DX_NAMES, isDxCode } from '../../src/core/labels.js';
import { type LesionMetadata, parseLesionMetadata } from '../../src/core/train/metadata.js';
import { at } from '../../src/core/util/at.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

function labelOf(code: string): string {
  return isDxCode(code) ? `${code} — ${DX_NAMES[code]}` : code;
}

/**
 * Decodes a file with the browser's decoder and returns RGBA pixels at the pre-shrink size. The options (see
 * BITMAP_OPTIONS) convert a colour profile to sRGB as Node does: byte-exact for sRGB and untagged images, within
 * ±1 level for others such as Display P3.
 */
async function decodeFile(file: Blob, model: WebModel): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, BITMAP_OPTIONS);
  const size = preshrinkSize(bitmap.width, bitmap.height, model.meta.preprocess);
  const canvas = new OffscreenCanvas(size.width, size.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, size.width, size.height);
  bitmap.close();
  return ctx.getImageData(0, 0, size.width, size.height);
}

/** Draws the model's input twice: on its own, and under the heatmap, so both are seen side by side. */
function drawInput(pixels: Uint8Array, width: number, height: number): void {
  const rgba = new Uint8ClampedArray(width * height * 4);
  // Per-pixel loop: pixels holds RGB triples, so i + 2 < pixels.length.
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i]!;
    rgba[j + 1] = pixels[i + 1]!;
    rgba[j + 2] = pixels[i + 2]!;
    rgba[j + 3] = 255;
  }
  for (const id of ['input-canvas', 'overlay-base']) {
    const canvas = $<HTMLCanvasElement>(id);
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
  }
}

function drawCam(result: BrowserPrediction, model: WebModel): void {
  const canvas = $<HTMLCanvasElement>('cam-canvas');
  const { width, height } = model.meta.preprocess;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, width, height);
  const top = at(result.ranked, 0);
  $('cam-class').textContent = top.label;
  if (!result.cam) {
    $('cam-class').textContent = `${top.label} (this model has no CAM output)`;
    return;
  }
  const map = camForClass(result.cam.data, result.cam.dims, model.meta.classes.indexOf(top.label));
  const small = new OffscreenCanvas(map.width, map.height);
  small.getContext('2d')!.putImageData(new ImageData(heatmapRgba(map), map.width, map.height), 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(small, 0, 0, width, height);
}

/** One bar per class, with the model's own recall for that class under it (how often it finds it). */
function drawChart(result: BrowserPrediction, figures: ModelFigures | null): void {
  const chart = $('chart');
  chart.replaceChildren(
    ...result.ranked.map((s, i) => {
      const row = document.createElement('div');
      row.className = i === 0 ? 'bar-row top' : 'bar-row';
      row.innerHTML = `<span class="bar-label"></span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span><span class="bar-recall"></span>`;
      (row.children[0] as HTMLElement).textContent = labelOf(s.label);
      (row.children[0] as HTMLElement).title = labelOf(s.label);
      (row.querySelector('.bar-fill') as HTMLElement).style.width = `${(s.probability * 100).toFixed(2)}%`;
      (row.children[2] as HTMLElement).textContent = `${(s.probability * 100).toFixed(1)}%`;
      (row.children[3] as HTMLElement).textContent = recallText(figures, s.label);
      return row;
    }),
  );
}

/** The model's evaluated figures above the bars, and a caution when they are weak or rough. */
function drawFigures(figures: ModelFigures | null): void {
  $('figures').textContent = describeFigures(figures);
  const caution = figuresCaution(figures);
  $('caution').textContent = caution ?? '';
  $('caution').hidden = caution === null;
}

/** Draws a prediction: the model input, its heatmap, the bars with the model's figures, and how it was made. */
function drawPrediction(prediction: BrowserPrediction, pixels: Uint8Array, model: WebModel): void {
  drawInput(pixels, model.meta.preprocess.width, model.meta.preprocess.height);
  drawCam(prediction, model);
  const figures = modelFigures(model.meta);
  drawFigures(figures);
  drawChart(prediction, figures);
  $('timing').textContent =
    `inference ${prediction.inferenceMs.toFixed(0)} ms (WebAssembly, ${model.threads} thread); ` +
    `views ${model.views.join('+')}; density rule ${model.meta.preprocess.density?.enabled ? 'on' : 'off'}; ` +
    `metadata ${prediction.metadataUsed ? 'used' : model.meta.metadata ? 'not given' : 'not accepted by this model'}`;
}

/** The page's state: the model once loaded, the image on show, and which analysis may draw. */
const state = {
  model: null as WebModel | null,
  /** The model could not be loaded: nothing can be analysed. */
  failed: false,
  /** The last image picked or dropped; a change of age, sex or site analyses it again. */
  file: null as Blob | null,
  /** Its model input, decoded once and reused when only the metadata changes. */
  input: null as { file: Blob; pixels: Promise<Uint8Array> } | null,
  /** Bumped by each analysis; only the newest draws, so a slow earlier image never overwrites a later one. */
  run: 0,
  /** Analyses started and not finished yet (drawn, dropped as superseded, or failed): #result's data-pending. */
  pending: 0,
};

/** The model input of `file`, decoded and preprocessed once per file. */
function modelInput(file: Blob, model: WebModel): Promise<Uint8Array> {
  let input = state.input;
  if (!input || input.file !== file) {
    const pixels = decodeFile(file, model).then((image) =>
      preprocessRgba(image.data, image.width, image.height, model.meta.preprocess),
    );
    input = { file, pixels };
    state.input = input;
  }
  return input.pixels;
}

/** The session's runs one after another, never two at once (a metadata change while an image is analysed). */
let inference: Promise<unknown> = Promise.resolve();
function predictInTurn(model: WebModel, pixels: Uint8Array, metadata: LesionMetadata | undefined) {
  const next = inference.then(() => model.predict(pixels, metadata));
  inference = next.catch(() => undefined);
  return next;
}

/**
 * Analyses the current image with the current metadata. The previous result is hidden meanwhile; a bad age or sex
 * is refused with the API's message; a failure says so (data-state "error"); an analysis overtaken by a newer one
 * (another image, changed metadata) draws nothing.
 */
async function analyse(): Promise<void> {
  const { model, file } = state;
  if (!model || !file) return;
  const run = ++state.run;
  const result = $('result');
  result.hidden = true;
  delete result.dataset.probabilities;
  result.dataset.state = 'working';
  result.dataset.pending = String(++state.pending);
  const fail = (message: string) => {
    if (run !== state.run) return;
    result.dataset.state = 'error';
    status(message);
  };
  try {
    let metadata: LesionMetadata | undefined;
    try {
      metadata = pageMetadata(model);
    } catch (error) {
      fail(`Could not use the age, sex and site: ${(error as Error).message}`);
      return;
    }
    status('Analysing in this browser…');
    const pixels = await modelInput(file, model);
    if (run !== state.run) return;
    const prediction = await predictInTurn(model, pixels, metadata);
    if (run !== state.run) return;
    drawPrediction(prediction, pixels, model);
    result.hidden = false;
    result.dataset.probabilities = JSON.stringify(Array.from(prediction.probabilities));
    result.dataset.runs = String(Number(result.dataset.runs ?? '0') + 1);
    result.dataset.state = 'done';
    status('');
  } catch (error) {
    fail(`Could not analyse this image: ${(error as Error).message}`);
  } finally {
    result.dataset.pending = String(--state.pending);
  }
}

/** A picked or dropped image: analysed now, or as soon as the model is ready. */
function select(file: Blob | undefined): void {
  if (!file) return;
  state.file = file;
  if (state.model) void analyse();
  else if (state.failed) status(CANNOT_ANALYSE);
  else status('The model is still loading; this image will be analysed once it is ready.');
}

/** Age, sex or site changed: the current image is analysed again when the model reads them. */
function metadataChanged(): void {
  const model = state.model;
  if (!model?.meta.metadata) return;
  if (state.file) {
    void analyse();
    return;
  }
  try {
    pageMetadata(model);
    status('');
  } catch (error) {
    status(`Could not use the age, sex and site: ${(error as Error).message}`);
  }
}

/** Wires the controls. The file input stays disabled until the model is ready; a drop before then is kept. */
function wireControls(): void {
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => {
    select(input.files?.[0]);
    input.value = ''; // so that picking the same file again is a change too
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    select(e.dataTransfer?.files[0]);
  });
  for (const id of ['meta-age', 'meta-sex', 'meta-site']) $(id).addEventListener('input', metadataChanged);
  $<HTMLInputElement>('show-cam').addEventListener('change', (e) => {
    $('cam-canvas').hidden = !(e.target as HTMLInputElement).checked;
  });
  const opacity = $<HTMLInputElement>('cam-opacity');
  const setOpacity = () => {
    $('cam-canvas').style.opacity = String(Number(opacity.value) / 100);
    $('cam-opacity-value').textContent = `${opacity.value}%`;
  };
  opacity.addEventListener('input', setOpacity);
  setOpacity();
  $('cam-scale').style.background = heatScaleGradient();
}

async function main(): Promise<void> {
  wireControls();
  const base = new URL('.', location.href);
  const model = await loadWebModel({
    modelBase: new URL('model/', base).href,
    wasmBase: new URL('ort/', base).href,
  });
  const { meta } = model;
  const p = meta.preprocess;
  $('model-info').textContent =
    `Model ${meta.name} (${meta.backbone}) · ${meta.classes.length} classes · input ${p.width}×${p.height}, ` +
    `resize ${p.resize}${p.colorConstancy ? ', Shades-of-Gray colour constancy' : ''}`;
  state.model = model;
  const input = $<HTMLInputElement>('file');
  input.disabled = false;
  document.body.dataset.ready = 'true';
  // an image picked before the page could listen (the input is disabled until now, yet may hold one)
  state.file ??= input.files?.[0] ?? null;
  input.value = '';
  if (state.file) void analyse();
}

const CANNOT_ANALYSE = 'Images cannot be analysed without the model; reload the page to try again.';

main().catch((e: Error) => {
  state.failed = true;
  $('model-info').textContent = `Could not load the model: ${e.message}`;
  status(CANNOT_ANALYSE);
  document.body.dataset.ready = 'failed';
});

/**
 * The optional age, sex and site inputs for a model with a metadata branch (none otherwise: the API ignores them
 * too), read by the core strict parse as the API reads its query: an age outside 0 to 120 or a text that is not a
 * number is refused (E_INPUT) with the API's message, never used; empty = missing.
 */
function pageMetadata(model: WebModel): LesionMetadata | undefined {
  if (!model.meta.metadata) return undefined;
  const age = $<HTMLInputElement>('meta-age');
  return parseLesionMetadata(
    {
      age: age.validity.badInput ? 'not a number' : age.value,
      sex: $<HTMLSelectElement>('meta-sex').value,
      localization: $<HTMLSelectElement>('meta-site').value,
    },
    { strict: true },
  );
}
