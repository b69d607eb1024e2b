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
  // Follow the brackets from the declaration's first line: it ends on the line where they all
  // close again, once a body (or the statement's end) has been seen.
  let depth = 0;
  let end = start;
  for (; end < lines.length; end++) {
    depth += bracketBalance(lines[end]!);
    const code = lines[end]!.replace(/\/\/.*$/, "").trimEnd();
    if (depth <= 0 && /[})\];,]$/.test(code)) break;
  }
  let first = start;
  if (lines[start - 1]?.trim().endsWith("*/")) {
    while (first > 0 && !lines[first - 1]!.trim().startsWith("/**")) first--;
    first--;
  }
  return dedent(lines.slice(first, Math.min(end, lines.length - 1) + 1));
}

/** How much a line opens brackets, minus what it closes, outside strings, comments and regexes. */
function bracketBalance(line: string): number {
  let balance = 0;
  let prev = ""; // the last significant character: tells a regex from a division
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < line.length && line[i] !== c; i++) if (line[i] === "\\") i++;
      prev = "a";
    } else if (c === "/" && line[i + 1] === "/") {
      break;
    } else if (c === "/" && line[i + 1] === "*") {
      const close = line.indexOf("*/", i + 2);
      i = close < 0 ? line.length : close + 1;
    } else if (c === "/" && (prev === "" || "(,=:[!&|?{};+-*%<>~^".includes(prev))) {
      let inClass = false;
      for (i++; i < line.length && (line[i] !== "/" || inClass); i++) {
        if (line[i] === "\\") i++;
        else if (line[i] === "[") inClass = true;
        else if (line[i] === "]") inClass = false;
      }
      prev = "a";
    } else {
      if (c === "{" || c === "(" || c === "[") balance++;
      else if (c === "}" || c === ")" || c === "]") balance--;
      if (c.trim() !== "") prev = c;
    }
  }
  return balance;
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

/**
 * The index of the line of `text` that contains `part`: where a detail figure's code points. The
 * first such line; a RangeError names the part when no line has it.
 */
export function findLine(text: string, part: string): number {
  const index = text.split("\n").findIndex((l) => l.includes(part));
  if (index < 0) throw new RangeError(`no line with "${part}"`);
  return index;
}
