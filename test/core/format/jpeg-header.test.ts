import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readJpegHeader, uprightSize } from '../../../src/core/format/jpeg-header.js';

/** A small JPEG (noise, so it is not trivially compressible) of `width` x `height`. */
async function jpeg(
  width: number,
  height: number,
  make: (s: sharp.Sharp) => sharp.Sharp = (s) => s.jpeg(),
): Promise<Uint8Array> {
  const raw = new Uint8Array(width * height * 3).map((_, i) => (i * 2654435761) >>> 24);
  return new Uint8Array(await make(sharp(raw, { raw: { width, height, channels: 3 } })).toBuffer());
}

/** An APP1 Exif segment whose IFD0 holds one orientation entry (`type` 3 = SHORT), in either byte order. */
function exifSegment(orientation: number, order: 'II' | 'MM', type = 3): Uint8Array {
  const tiff = new DataView(new ArrayBuffer(26));
  const little = order === 'II';
  tiff.setUint8(0, order.charCodeAt(0));
  tiff.setUint8(1, order.charCodeAt(1));
  tiff.setUint16(2, 42, little);
  tiff.setUint32(4, 8, little); // IFD0 right after the header
  tiff.setUint16(8, 1, little); // one entry
  tiff.setUint16(10, 0x0112, little);
  tiff.setUint16(12, type, little);
  tiff.setUint32(14, 1, little);
  tiff.setUint16(18, orientation, little);
  tiff.setUint32(22, 0, little); // no next IFD
  const body = [...'Exif'].map((c) => c.charCodeAt(0)).concat([0, 0], [...new Uint8Array(tiff.buffer)]);
  const length = body.length + 2;
  return Uint8Array.from([0xff, 0xe1, length >> 8, length & 0xff, ...body]);
}

/** `bytes` with `segment` inserted at `at` (2: right after SOI). */
function insert(bytes: Uint8Array, segment: Uint8Array, at = 2): Uint8Array {
  return Uint8Array.from([...bytes.subarray(0, at), ...segment, ...bytes.subarray(at)]);
}

/** `bytes` with byte `at` set to `value`. */
function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = value;
  return copy;
}

/** An APP1 segment holding `body` and 8 more zero bytes. */
function exifLike(body: number[]): Uint8Array {
  const all = [...body, 0, 0, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([0xff, 0xe1, (all.length + 2) >> 8, (all.length + 2) & 0xff, ...all]);
}

/** Offset of the first marker `marker` (e.g. 0xc0 for a baseline SOF) in a JPEG. */
function markerOffset(bytes: Uint8Array, marker: number): number {
  for (let i = 2; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === marker) return i;
  throw new Error(`no marker ${marker.toString(16)}`);
}

async function sharpHeader(bytes: Uint8Array) {
  const m = await sharp(bytes).metadata();
  return { width: m.width, height: m.height, orientation: m.orientation ?? 1 };
}

describe('readJpegHeader', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('reads size and orientation %i as sharp (libvips) does', async (o) => {
    const bytes = await jpeg(37, 21, (s) => s.withMetadata({ orientation: o }).jpeg());
    expect(readJpegHeader(bytes)).toEqual(await sharpHeader(bytes));
    expect(readJpegHeader(bytes)).toEqual({ width: 37, height: 21, orientation: o });
  });

  it.each([
    ['progressive', (s: sharp.Sharp) => s.jpeg({ progressive: true })],
    ['greyscale', (s: sharp.Sharp) => s.greyscale().jpeg()],
    ['CMYK', (s: sharp.Sharp) => s.toColourspace('cmyk').jpeg()],
    ['with an ICC profile', (s: sharp.Sharp) => s.withIccProfile('p3').jpeg()],
    ['4:4:4 (no chroma subsampling)', (s: sharp.Sharp) => s.jpeg({ chromaSubsampling: '4:4:4' })],
  ])('reads a %s JPEG as sharp does', async (_, make) => {
    const bytes = await jpeg(19, 30, make);
    expect(readJpegHeader(bytes)).toEqual(await sharpHeader(bytes));
  });

  it('reads Exif in either byte order, and an Exif segment placed after the frame header', async () => {
    const plain = await jpeg(24, 16);
    for (const order of ['II', 'MM'] as const) {
      const bytes = insert(plain, exifSegment(6, order));
      expect(readJpegHeader(bytes)).toEqual({ width: 24, height: 16, orientation: 6 });
      expect(await sharpHeader(bytes)).toEqual({ width: 24, height: 16, orientation: 6 });
    }
    const late = insert(plain, exifSegment(8, 'MM'), markerOffset(plain, 0xc4)); // after SOF0, before the tables
    expect(readJpegHeader(late)).toEqual({ width: 24, height: 16, orientation: 8 });
    expect(await sharpHeader(late)).toEqual({ width: 24, height: 16, orientation: 8 });
  });

  it('gives up (undefined, the caller asks sharp) on anything it cannot vouch for', async () => {
    const plain = await jpeg(24, 16);
    const sof = markerOffset(plain, 0xc0);
    const zeroHeight = plain.slice();
    zeroHeight[sof + 5] = 0;
    zeroHeight[sof + 6] = 0;
    const twoExif = insert(insert(plain, exifSegment(1, 'II')), exifSegment(6, 'II'));
    const cases: Array<[string, Uint8Array]> = [
      ['not a JPEG', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)],
      ['cut inside the header', plain.subarray(0, sof + 4)],
      ['cut before the frame header', plain.subarray(0, sof)],
      ['a zero height (DNL)', zeroHeight],
      ['two Exif segments', twoExif],
      ['orientation 9', insert(plain, exifSegment(9, 'II'))],
      ['orientation not a SHORT', insert(plain, exifSegment(6, 'II', 4))],
      ['garbage between segments', insert(plain, Uint8Array.of(0x12, 0x34), sof)],
      // libjpeg skips an FF 00 pair and stray bytes up to the next marker: read as a segment, it could hide the frame
      ['an FF 00 pair', insert(plain, Uint8Array.of(0xff, 0x00, 0x00, 0x04), 2)],
      ['a second SOI', insert(plain, Uint8Array.of(0xff, 0xd8), 2)],
      ['an EOI before any scan', Uint8Array.from([...plain.subarray(0, sof), 0xff, 0xd9])],
      ['a restart marker before the scan', insert(plain, Uint8Array.of(0xff, 0xd0), sof)],
      ['a lossless (SOF3) frame', withByte(plain, sof + 1, 0xc3)],
      ['a hierarchical (SOF5) frame', withByte(plain, sof + 1, 0xc5)],
      ['12-bit samples', withByte(plain, sof + 4, 12)],
      ['a frame length that disagrees with its components', withByte(plain, sof + 9, 1)],
      ['no scan after the header', plain.subarray(0, markerOffset(plain, 0xda))],
      ['an APP1 "Exif" without the 6-byte header', insert(plain, exifLike([0x45, 0x78, 0x69, 0x66, 0, 1]))],
      [
        'a junk "Exif" APP1 beside a good one',
        insert(insert(plain, exifSegment(6, 'II')), exifLike([0x45, 0x78, 0x69, 0x66, 0, 1])),
      ],
    ];
    for (const [what, bytes] of cases) expect(readJpegHeader(bytes), what).toBeUndefined();
  });

  it('uprightSize swaps width and height for orientations 5-8 only', () => {
    for (let o = 1; o <= 8; o++) {
      expect(uprightSize({ width: 30, height: 20, orientation: o })).toEqual(
        o >= 5 ? { width: 20, height: 30 } : { width: 30, height: 20 },
      );
    }
  });
});
