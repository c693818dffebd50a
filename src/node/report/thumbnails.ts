import sharp from 'sharp';

/** A small JPEG thumbnail of an image file as a `data:` URI (fits `size` x `size`), or null if unreadable. */
export async function thumbnailDataUri(path: string, size = 160): Promise<string | null> {
  try {
    const jpeg = await sharp(path).resize(size, size, { fit: 'inside' }).jpeg({ quality: 72 }).toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return null;
  }
}

/** Thumbnails of many images, a few at a time; ids whose image cannot be read are left out. */
export async function thumbnailMap(
  images: readonly { readonly imageId: string; readonly path: string }[],
  size = 160,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < images.length; i += 4) {
    const chunk = images.slice(i, i + 4);
    const uris = await Promise.all(
      chunk.map(async (image) => ({ id: image.imageId, uri: await thumbnailDataUri(image.path, size) })),
    );
    for (const { id, uri } of uris) if (uri !== null) out.set(id, uri);
  }
  return out;
}
