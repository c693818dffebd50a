/**
 * Element `index` of `items`, typed without `| undefined`: reading past the end is a bug in lesionlab, not bad
 * input, so it throws a RangeError that names the index and the length instead of yielding `undefined` (or NaN
 * in arithmetic). For code that is not a per-pixel or per-image inner loop: called with every kind of array
 * it is polymorphic, and V8 then runs such loops several times slower (measured: 3-8x on the resize loop,
 * also with one function per element type), so those loops read with `!` after stating why the index is valid.
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
