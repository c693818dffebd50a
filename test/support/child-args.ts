/**
 * The command-line arguments of a test's child process, one per name in `names`, typed as strings: a missing
 * one throws with the script's usage line instead of passing `undefined` on.
 */
export function childArgs<const Names extends readonly string[]>(
  script: string,
  names: Names,
): { [K in keyof Names]: string } {
  const args = process.argv.slice(2);
  if (args.length < names.length) {
    const usage = names.map((name) => `<${name}>`).join(' ');
    throw new Error(`usage: ${script} ${usage} (received ${args.length} arguments)`);
  }
  return args.slice(0, names.length) as { [K in keyof Names]: string };
}
