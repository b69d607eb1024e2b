/** The repository's own source files, bundled as text, so code cells show the code that runs. */
import { cellSource } from "../../lessons/source.js";

const files = import.meta.glob(["../../lessons/*.ts", "../../src/**/*.ts", "!../../src/**/assembly/**"], {
  query: "?raw",
  import: "default",
}) as Record<string, () => Promise<string>>;

export async function codeCell(cell: { file: string; region?: string; symbol?: string }): Promise<string> {
  const load = files[`../../${cell.file}`];
  if (!load) throw new Error(`no source file ${cell.file} in the lab bundle`);
  return cellSource(await load(), cell);
}

/**
 * What a code cell shows in its header: "#region units", "class Mlp", "logits()". A symbol is the
 * start of its declaration, which may stop mid-signature ("logits(xs: Tensor"): the name says it.
 */
export function codeWhere(cell: { region?: string; symbol?: string }): string {
  if (cell.region) return `#region ${cell.region}`;
  const symbol = (cell.symbol ?? "").trim().replace(/^(export\s+)?(default\s+)?(async\s+)?/, "");
  const declared = /^(class|function\*?|interface|type|const|let|enum)\s+([\w$]+)/.exec(symbol);
  if (declared) return `${declared[1]} ${declared[2]}`;
  const method = /^(?:(?:private|public|protected|static|readonly|get|set|async|\*)\s*)*([\w$]+)\s*[(<]/.exec(
    symbol,
  );
  if (method) return `${method[1]}()`;
  return symbol.replace(/\s*\{$/, "");
}
