/**
 * Element `index` of `items`, typed without `| undefined`: reading past the end is a bug in lesionlab, not bad
 * input, so it throws a RangeError that names the index and the length instead of yielding `undefined` (or NaN
 * in arithmetic). One comparison on the normal path, so hot pixel loops can use it.
 */
export function at<T>(items: ArrayLike<T>, index: number): T {
  const item = items[index];
  if (item === undefined && !(Number.isInteger(index) && index >= 0 && index < items.length)) {
    throw new RangeError(
      `index ${index} is outside 0..${items.length - 1} (length ${items.length}): a lesionlab bug`,
    );
  }
  return item as T;
}
