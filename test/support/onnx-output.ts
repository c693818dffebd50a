/**
 * Output `name` of an ONNX session run (a record keyed by output name); a missing one throws with the names
 * the run did return, instead of yielding `undefined`.
 */
export function outputNamed<T>(outputs: Readonly<Record<string, T>>, name: string): T {
  const output = outputs[name];
  if (output === undefined) {
    throw new Error(`no ONNX output "${name}": the run returned ${JSON.stringify(Object.keys(outputs))}`);
  }
  return output;
}
