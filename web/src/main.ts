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
import { DX_NAMES, isDxCode } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

function labelOf(code: string): string {
  return isDxCode(code) ? `${code} — ${DX_NAMES[code]}` : code;
}

/** Decodes a file with the browser's decoder and returns RGBA pixels at the pre-shrink size. */
async function decodeFile(file: Blob, model: WebModel): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
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

async function classify(file: Blob, model: WebModel): Promise<void> {
  const result = $('result');
  result.dataset.state = 'working';
  status('Analysing in this browser…');
  const image = await decodeFile(file, model);
  const pixels = preprocessRgba(image.data, image.width, image.height, model.meta.preprocess);
  const prediction = await model.predict(pixels, pageMetadata());
  drawInput(pixels, model.meta.preprocess.width, model.meta.preprocess.height);
  drawCam(prediction, model);
  const figures = modelFigures(model.meta);
  drawFigures(figures);
  drawChart(prediction, figures);
  $('timing').textContent =
    `inference ${prediction.inferenceMs.toFixed(0)} ms (WebAssembly, ${model.threads} thread); ` +
    `views ${model.views.join('+')}; density rule ${model.meta.preprocess.density?.enabled ? 'on' : 'off'}; ` +
    `metadata ${prediction.metadataUsed ? 'used' : model.meta.metadata ? 'not given' : 'not accepted by this model'}`;
  result.hidden = false;
  result.dataset.probabilities = JSON.stringify(Array.from(prediction.probabilities));
  result.dataset.runs = String(Number(result.dataset.runs ?? '0') + 1);
  result.dataset.state = 'done';
  status('');
}

function wireInput(model: WebModel): void {
  const run = (file: File | undefined) => {
    if (file) classify(file, model).catch((e: Error) => status(`Could not analyse this image: ${e.message}`));
  };
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => run(input.files?.[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    run(e.dataTransfer?.files[0]);
  });
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
  document.body.dataset.ready = 'true';
  wireInput(model);
}

main().catch((e: Error) => status(`Could not load the model: ${e.message}`));

/** The optional age, sex and site inputs, as the model's metadata branch reads them (empty = missing). */
function pageMetadata(): { age?: number; sex?: 'male' | 'female'; site?: string } {
  const age = Number.parseFloat(($('meta-age') as HTMLInputElement).value);
  const sex = ($('meta-sex') as HTMLSelectElement).value;
  const site = ($('meta-site') as HTMLSelectElement).value;
  return {
    ...(Number.isFinite(age) ? { age } : {}),
    ...(sex === 'male' || sex === 'female' ? { sex } : {}),
    ...(site ? { site } : {}),
  };
}
