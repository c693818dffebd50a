import sharp from 'sharp';
import type { BundleMeta } from '../../src/core/bundle/meta.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import type { Classifier } from '../../src/node/infer/classifier.js';

/** A bundle.json for a model taking `size` x `size` images. */
export function fakeMeta(size = 8): BundleMeta {
  return {
    format: 'lesionlab-model',
    version: 1,
    name: 'fake-model',
    backbone: 'fake',
    classes: [...HAM10000_CLASSES],
    preprocess: { width: size, height: size, resize: 'stretch', colorConstancy: false },
    normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
    onnx: { file: 'model.onnx', input: 'input', probabilities: 'probabilities' },
    metrics: { accuracy: 0.5 },
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/** A classifier without a model: probability of class i grows with the mean red value; counts calls. */
export function fakeClassifier(size = 8): Classifier & { calls: number[] } {
  const meta = fakeMeta(size);
  const calls: number[] = [];
  const item = size * size * 3;
  return {
    meta,
    calls,
    async classifyPixels(batch, count) {
      calls.push(count);
      return Array.from({ length: count }, (_, n) => {
        let red = 0;
        for (let i = n * item; i < (n + 1) * item; i += 3) red += at(batch, i);
        const r = red / (size * size * 255);
        const logits = meta.classes.map((_, c) => Math.exp(c * r));
        const sum = logits.reduce((a, b) => a + b, 0);
        return Float32Array.from(logits, (v) => v / sum);
      });
    },
    async classifyFiles() {
      return [];
    },
    async decode(source) {
      const { data } = await sharp(source)
        .removeAlpha()
        .resize(size, size, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return new Uint8Array(data);
    },
    async dispose() {},
  };
}

/** A small solid-colour JPEG. */
export function jpeg(width = 60, height = 45, r = 200): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g: 80, b: 60 } } })
    .jpeg()
    .toBuffer();
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** A tiny valid PNG whose header claims `width` x `height` (a decompression-bomb probe). */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); CRC covers type + data (bytes 12..29).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** A multipart/form-data body with one file field. */
export function multipartBody(file: Buffer, type = 'image/jpeg'): { body: Buffer; contentType: string } {
  const boundary = '----lesionlabtest';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
