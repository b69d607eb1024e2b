/**
 * Code cells show real source: a named region of a file, or one declaration. Both the lab (which
 * bundles the files as text) and the CLI use this to cut the lines out.
 */

/** The lines between `// #region NAME` and the next `// #endregion`, without the markers. */
export function extractRegion(source: string, name: string): string {
  const lines = source.split("\n");
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  if (start < 0) throw new RangeError(`no region "${name}"`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === "// #endregion");
  if (end < 0) throw new RangeError(`region "${name}" has no // #endregion`);
  return dedent(lines.slice(start + 1, end));
}

/**
 * The declaration whose first line contains `symbol` (with its doc comment), up to the line that
 * closes it at the same indentation: a function, a method, a class, an object property.
 */
export function extractSymbol(source: string, symbol: string): string {
  const lines = source.split("\n");
  const start = lines.findIndex(
    (l) => l.includes(symbol) && !l.trim().startsWith("//") && !l.trim().startsWith("*"),
  );
  if (start < 0) throw new RangeError(`no declaration with "${symbol}"`);
  const indent = /^\s*/.exec(lines[start]!)![0];
  let end = start;
  if (!/[{(]\s*$/.test(lines[start]!)) {
    // A one-line declaration, or one whose body opens on a later line.
    while (end < lines.length - 1 && !/[{]\s*$/.test(lines[end]!) && !/;\s*$/.test(lines[end]!)) end++;
  }
  if (/[{(]\s*$/.test(lines[end]!)) {
    end++;
    while (
      end < lines.length &&
      !(lines[end]!.startsWith(`${indent}}`) || lines[end]!.startsWith(`${indent})`))
    )
      end++;
  }
  let first = start;
  if (lines[start - 1]?.trim().endsWith("*/")) {
    while (first > 0 && !lines[first - 1]!.trim().startsWith("/**")) first--;
    first--;
  }
  return dedent(lines.slice(first, end + 1));
}

function dedent(lines: string[]): string {
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^\s*/.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines
    .map((l) => l.slice(cut))
    .join("\n")
    .replace(/^\n+|\s+$/g, "");
}

/** The text a code cell shows. */
export function cellSource(source: string, cell: { region?: string; symbol?: string }): string {
  if (cell.region) return extractRegion(source, cell.region);
  if (cell.symbol) return extractSymbol(source, cell.symbol);
  return source.trimEnd();
}
