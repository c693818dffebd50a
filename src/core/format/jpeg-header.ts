// A JPEG's size and EXIF orientation read from its markers in plain TypeScript: what a server needs to check an
// upload and plan its decode, without a call into the image library (libvips reads the same SOF and Exif markers).

/** An image header: its stored size (before orientation) and EXIF orientation (1-8), as {@link readJpegHeader} reads them. */
export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** EXIF orientation 1-8; 1 when the image has no Exif segment or no orientation tag. */
  readonly orientation: number;
}

/** A size as the viewer sees it: orientations 5-8 turn the image a quarter, swapping width and height. */
export function uprightSize(header: ImageHeader): { width: number; height: number } {
  return header.orientation >= 5
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height };
}

const be16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;

/** Start-of-frame markers C0-CF, except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isStartOfFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * The size and EXIF orientation of the JPEG in `bytes`, from the markers before its first scan; `undefined` when it
 * is not a well-formed JPEG header or anything in it is not plain (no frame, a zero size, a segment running past the
 * end, two frames, two Exif segments, an Exif block or orientation it cannot read): the caller then asks the image
 * library, whose answer (or error) stands. It never guesses.
 */
export function readJpegHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let size: { width: number; height: number } | undefined;
  let orientation: number | undefined;
  let i = 2;
  while (i < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    while (bytes[i] === 0xff) i++; // fill bytes
    const marker = bytes[i];
    i++;
    if (marker === undefined) return undefined;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // standalone: RSTn, TEM
    if (marker === 0xda || marker === 0xd9) break; // first scan (or the end): the header is over
    if (i + 2 > bytes.length) return undefined;
    const length = be16(bytes, i);
    const end = i + length;
    if (length < 2 || end > bytes.length) return undefined;
    if (isStartOfFrame(marker)) {
      if (size || length < 8) return undefined;
      size = { height: be16(bytes, i + 3), width: be16(bytes, i + 5) };
      if (size.width === 0 || size.height === 0) return undefined;
    } else if (marker === 0xe1 && isExif(bytes, i + 2, end)) {
      if (orientation !== undefined) return undefined;
      orientation = exifOrientation(bytes.subarray(i + 8, end));
      if (orientation === undefined) return undefined;
    }
    i = end;
  }
  return size ? { ...size, orientation: orientation ?? 1 } : undefined;
}

/** Whether the segment body at `start` opens with `Exif\0\0`. */
function isExif(bytes: Uint8Array, start: number, end: number): boolean {
  const tag = [0x45, 0x78, 0x69, 0x66, 0, 0];
  return end - start >= tag.length && tag.every((b, k) => bytes[start + k] === b);
}

/**
 * The orientation tag (0x0112) of IFD0 in a TIFF block (`II*\0` or `MM\0*`): 1 when absent, `undefined` when the
 * block cannot be read or the value is not a SHORT 1-8.
 */
function exifOrientation(tiff: Uint8Array): number | undefined {
  if (tiff.length < 8) return undefined;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return undefined;
  const u16 = (i: number) => (little ? tiff[i]! | (tiff[i + 1]! << 8) : be16(tiff, i));
  const u32 = (i: number) => (little ? u16(i) + u16(i + 2) * 65536 : u16(i) * 65536 + u16(i + 2));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return undefined;
  const entries = u16(ifd);
  if (ifd + 2 + entries * 12 > tiff.length) return undefined;
  for (let e = 0; e < entries; e++) {
    const entry = ifd + 2 + e * 12;
    if (u16(entry) !== 0x0112) continue;
    const value = u16(entry + 8);
    const plain = u16(entry + 2) === 3 && u32(entry + 4) === 1 && value >= 1 && value <= 8;
    return plain ? value : undefined;
  }
  return 1;
}
