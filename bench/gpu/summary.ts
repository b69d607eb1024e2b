/**
 * bench/gpu/summary: the figures bench/gpu/run.sh exists for, side by side, from the tables
 * bench/matmul and bench/gpt2-124m printed (their logs): float32 matmul GFLOPS at the largest
 * square size, GPT-2 124M training and decoding tokens/s, herograd webgpu against PyTorch from
 * the same run, each with issue 15's target.
 * Usage: node dist/bench/gpu/summary.js MATMUL_LOG GPT2_LOG
 */
import { readFileSync } from "node:fs";
import { printTable } from "../util.js";

/** A printed table (bench/util.ts printTable): cells by the header's column starts. */
function readTable(log: string): Map<string, string>[] {
  const lines = log.split("\n");
  const at = lines.findIndex((l) => l.startsWith("implementation"));
  if (at < 0) return [];
  const header = lines[at]!;
  // Cells are separated by two or more spaces; a header cell is never empty.
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index!);
  const names = starts.map((s, i) => header.slice(s, starts[i + 1]).trim());
  const rows: Map<string, string>[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "" || line.startsWith("==")) break;
    rows.push(new Map(names.map((n, i) => [n, line.slice(starts[i], starts[i + 1]).trim()])));
  }
  return rows;
}

const first = (cell: string | undefined) => {
  const n = Number.parseFloat(cell ?? "");
  return Number.isFinite(n) ? n : null;
};

const [matmulLog, gptLog] = process.argv.slice(2).map((f) => readFileSync(f!, "utf8"));
const rows: (string | number)[][] = [
  ["figure", "herograd webgpu", "PyTorch", "herograd / PyTorch", "target", ""],
];
const ratioRow = (name: string, ours: number | null, theirs: number | null, target: number, what: string) => {
  const ratio = ours !== null && theirs ? ours / theirs : null;
  rows.push([
    name,
    ours?.toFixed(1) ?? "-",
    theirs?.toFixed(1) ?? "-",
    ratio === null ? "-" : `${(100 * ratio).toFixed(0)}%`,
    `≥ ${100 * target}% ${what}`,
    ratio === null ? "" : ratio >= target ? "met" : "NOT met",
  ]);
};

const matmul = readTable(matmulLog ?? "");
const ours = matmul.find((r) => r.get("implementation")!.startsWith("herograd webgpu"));
const torch = matmul.find((r) => r.get("implementation")!.startsWith("PyTorch"));
const square = [...(matmul[0]?.keys() ?? [])].filter((k) => /^\d+³$/.test(k)).at(-1);
if (square)
  ratioRow(
    `matmul ${square} float32 GFLOPS`,
    first(ours?.get(square)),
    first(torch?.get(square)),
    0.7,
    "(no TF32)",
  );

const gpt = readTable(gptLog ?? "");
const gptOurs = gpt.find((r) => r.get("implementation")!.startsWith("herograd"));
const gptTorch = gpt.find((r) => r.get("implementation")!.startsWith("PyTorch"));
const train = [...(gpt[0]?.keys() ?? [])].find((k) => /^train \[.*tokens\/s$/.test(k));
if (train)
  ratioRow(`GPT-2 ${train}`, first(gptOurs?.get(train)), first(gptTorch?.get(train)), 0.5, "(PyTorch eager)");
const decode = first(gptOurs?.get("decode tokens/s"));
rows.push([
  "GPT-2 decode tokens/s (KV cache)",
  decode?.toFixed(1) ?? "-",
  first(gptTorch?.get("decode tokens/s"))?.toFixed(1) ?? "-",
  "",
  "≥ 150 tokens/s",
  decode === null ? "" : decode >= 150 ? "met" : "NOT met",
]);
printTable(rows);
