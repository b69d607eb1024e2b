/** Draw a Value's expression graph as in the lecture: a record per Value, a small node per op. */
import type { Value } from "./engine.js";

export interface DotOptions {
  /** "LR" (left to right, the lecture's) or "TB". */
  rankdir?: "LR" | "TB" | "RL" | "BT";
  /** printf-style digits for data and grad. */
  digits?: number;
  /** Fill colours for some nodes (e.g. the node backprop is at, in the lab's step-through). */
  highlight?: ReadonlyMap<Value, string>;
}

function escapeRecord(text: string): string {
  return text.replace(/[\\{}|<>"]/g, (c) => `\\${c}`);
}

export function toDot(root: Value, { rankdir = "LR", digits = 4, highlight }: DotOptions = {}): string {
  const nodes = root.topologicalOrder();
  const ids = new Map<Value, string>();
  nodes.forEach((n, i) => {
    ids.set(n, `v${i}`);
  });
  const lines = ["digraph {", `  graph [rankdir=${rankdir}];`, '  node [fontname="Helvetica", fontsize=11];'];
  for (const n of nodes) {
    const id = ids.get(n)!;
    const fields = [
      escapeRecord(n.label),
      `data ${n.data.toFixed(digits)}`,
      `grad ${n.grad.toFixed(digits)}`,
    ];
    const fill = highlight?.get(n);
    const style = fill ? `, style=filled, fillcolor="${fill.replace(/"/g, "")}"` : "";
    lines.push(`  ${id} [shape=record, label="{ ${fields.join(" | ")} }"${style}];`);
    if (n.op) {
      lines.push(`  ${id}_op [shape=ellipse, label="${escapeRecord(n.opLabel)}"];`);
      lines.push(`  ${id}_op -> ${id};`);
    }
  }
  for (const n of nodes) {
    for (const child of n.prev) lines.push(`  ${ids.get(child)} -> ${ids.get(n)}_op;`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Render DOT to SVG with Graphviz compiled to WebAssembly (no system graphviz needed). */
export async function dotToSvg(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}
