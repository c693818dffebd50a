// A JPEG's size and EXIF orientation read from its markers in plain TypeScript: what a server needs to check an
// upload and plan its decode, without a call into the image library (libvips reads the same SOF and Exif markers).

/** An image header: its stored size (before orientation) and EXIF orientation (1-8), as {@link readJpegHeader} reads them. */
export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** EXIF orientation 1-8; 1 when the image has no Exif segment or no orientation tag. */
  readonly orientation: number;
}

/** An image's size as shown (EXIF orientation applied). */
export interface UprightSize {
  readonly width: number;
  readonly height: number;
}

/** A size as the viewer sees it: orientations 5-8 turn the image a quarter, swapping width and height. */
export function uprightSize(header: ImageHeader): UprightSize {
  return header.orientation >= 5
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height };
}

const be16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;

/** Frames it vouches for: 8-bit baseline, extended and progressive Huffman (SOF0-SOF2), which every libjpeg reads. */
const PLAIN_FRAMES: ReadonlySet<number> = new Set([0xc0, 0xc1, 0xc2]);

/** Segments a decoder reads before the first scan besides the frame: DHT, DAC, DQT, DRI, APP0-APP15 and COM. */
const isTableOrApp = (m: number) =>
  m === 0xc4 || m === 0xcc || m === 0xdb || m === 0xdd || (m >= 0xe0 && m <= 0xef) || m === 0xfe;

/** `Exif` at `start`: how libvips tells an APP1 segment is Exif. */
const EXIF = [0x45, 0x78, 0x69, 0x66];

/**
 * The size and EXIF orientation of the JPEG in `bytes`, from its markers up to the first scan; `undefined` unless the
 * header is plain: segments back to back up to a start of scan (no stray bytes, no marker outside the frame and
 * table/APPn/COM segments, no segment running past the end), one 8-bit SOF0-SOF2 frame of a non-zero size whose
 * length matches its components, and at most one Exif segment, with a `Exif\0\0` header and an orientation it can
 * read. Then the caller asks the image library, whose answer (or error) stands: it never guesses.
 */
export function readJpegHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let size: { width: number; height: number } | undefined;
  let orientation: number | undefined;
  let i = 2;
  for (;;) {
    if (bytes[i] !== 0xff) return undefined;
    while (bytes[i] === 0xff) i++; // fill bytes
    const marker = bytes[i];
    i++;
    if (marker === undefined) return undefined;
    if (marker === 0xda) break; // the first scan: the header is over
    const frame = PLAIN_FRAMES.has(marker);
    if (!frame && !isTableOrApp(marker)) return undefined;
    if (i + 2 > bytes.length) return undefined;
    const length = be16(bytes, i);
    const end = i + length;
    if (length < 2 || end > bytes.length) return undefined;
    if (frame) {
      const components = length >= 8 ? bytes[i + 7]! : 0;
      if (size || bytes[i + 2] !== 8 || components === 0 || length !== 8 + 3 * components) return undefined;
      size = { height: be16(bytes, i + 3), width: be16(bytes, i + 5) };
      if (size.width === 0 || size.height === 0) return undefined;
    } else if (
      marker === 0xe1 &&
      end - i - 2 >= EXIF.length &&
      EXIF.every((b, k) => bytes[i + 2 + k] === b)
    ) {
      if (orientation !== undefined || end - i < 8 || bytes[i + 6] !== 0 || bytes[i + 7] !== 0)
        return undefined;
      orientation = exifOrientation(bytes.subarray(i + 8, end));
      if (orientation === undefined) return undefined;
    }
    i = end;
  }
  return size ? { ...size, orientation: orientation ?? 1 } : undefined;
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
