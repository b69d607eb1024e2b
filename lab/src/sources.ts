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
