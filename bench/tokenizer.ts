/**
 * bench/tokenizer: (1) training Basic and Regex (GPT-4 pattern) tokenizers to vocab 512 on
 * taylorswift.txt, beside the lecture's Python loop (bench/reference/minbpe_train.py, minbpe's
 * algorithm) on the same text; (2) cl100k_base encoding speed on tinyshakespeare.txt beside
 * js-tiktoken (pure JavaScript) and tiktoken (Rust compiled to WebAssembly), all in this run;
 * (3) one long piece (random letters, no split point), where merging is quadratic in tiktoken.
 * HERO_BENCH_NO_PYTHON=1 skips the Python training (about 40 s).
 */
import { getEncoding as jsTiktokenEncoding } from "js-tiktoken";
import { get_encoding } from "tiktoken";
import { loadText } from "../src/data/node.js";
import { BasicTokenizer, GPT4_SPLIT_PATTERN, getEncoding, RegexTokenizer } from "../src/tokenizer/index.js";
import { benchArgs, findPython, printTable, referencePath, runPython } from "./util.js";

benchArgs({});

const taylorswift = (await loadText("taylorswift")).text;
const shakespeare = (await loadText("tinyshakespeare")).text;

function seconds(work: () => void): number {
  const started = performance.now();
  work();
  return (performance.now() - started) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// (1) Training.
console.log("training to vocab 512 on taylorswift.txt (185,768 bytes)");
const python = process.env.HERO_BENCH_NO_PYTHON ? undefined : findPython(["regex"]);
const trainRows: (string | number)[][] = [
  ["tokenizer", "herograd first run s", "herograd median of 9 s", "Python s", "ratio", "same merges"],
];
let bothSeconds = 0;
for (const [name, pattern] of [
  ["Basic", ""],
  ["Regex (GPT-4)", GPT4_SPLIT_PATTERN],
] as const) {
  const make = () => (pattern ? new RegexTokenizer(pattern) : new BasicTokenizer());
  let tokenizer = make();
  const first = seconds(() => tokenizer.train(taylorswift, 512));
  const runs = Array.from({ length: 9 }, () => {
    tokenizer = make();
    return seconds(() => tokenizer.train(taylorswift, 512));
  });
  const ours = median(runs);
  let py = "skipped";
  let ratio = "";
  let same = "";
  if (python) {
    const ref = runPython(
      python,
      referencePath("minbpe_train.py"),
      JSON.stringify({ text: taylorswift, vocab_size: 512, pattern }),
    );
    if (ref.ok) {
      const r = JSON.parse(ref.stdout) as { seconds: number; merges: [number, number][] };
      py = r.seconds.toFixed(2);
      ratio = `${(r.seconds / ours).toFixed(0)}x`;
      same =
        JSON.stringify(r.merges) === JSON.stringify(tokenizer.merges.map(([a, b]) => [a, b])) ? "yes" : "NO";
    } else py = `failed: ${ref.stderr.trim().split("\n").at(-1)}`;
  }
  trainRows.push([name, first.toFixed(3), ours.toFixed(3), py, ratio, same]);
  bothSeconds += ours;
}
printTable(trainRows);
console.log(
  `both: ${bothSeconds.toFixed(3)} s, ${(25 / bothSeconds).toFixed(0)}x faster than minbpe's ~25 s for both on an M1 (goal: ≥100x)`,
);

// (2) Encoding.
const bytes = Buffer.byteLength(shakespeare, "utf8");
console.log(`\ncl100k_base encode of tinyshakespeare.txt (${bytes.toLocaleString("en")} bytes), best of 5`);
const ours = await getEncoding("cl100k_base");
const js = jsTiktokenEncoding("cl100k_base");
const wasm = get_encoding("cl100k_base");
const reference = Array.from(wasm.encode(shakespeare));
const same = (ids: ArrayLike<number>) =>
  ids.length === reference.length &&
  Array.prototype.every.call(ids, (id: number, i: number) => id === reference[i]);

/** Each run on a fresh tokenizer (made beforehand), so its chunk and pair caches start empty. */
function coldRuns(): () => number[] {
  const fresh = Array.from({ length: 5 }, () => ours.fork());
  return () => fresh.pop()!.encodeOrdinary(shakespeare);
}

const encoders: [string, () => ArrayLike<number>][] = [
  // A fresh tokenizer per run: its chunk cache starts empty.
  ["herograd (cold chunk cache)", coldRuns()],
  ["herograd (warm chunk cache)", () => ours.encodeOrdinary(shakespeare)],
  ["js-tiktoken", () => js.encode(shakespeare)],
  ["tiktoken (wasm)", () => wasm.encode_ordinary(shakespeare)],
];
const results = new Map<string, number>();
const encodeRows: (string | number)[][] = [["encoder", "seconds", "MB/s", "same ids as tiktoken"]];
for (const [name, encode] of encoders) {
  let ids: ArrayLike<number> = [];
  const best = Math.min(
    ...Array.from({ length: 5 }, () =>
      seconds(() => {
        ids = encode();
      }),
    ),
  );
  results.set(name, best);
  encodeRows.push([name, best.toFixed(4), (bytes / 1e6 / best).toFixed(2), same(ids) ? "yes" : "NO"]);
}
wasm.free();
printTable(encodeRows);
const cold = results.get("herograd (cold chunk cache)")!;
console.log(
  `herograd (cold) is ${(results.get("js-tiktoken")! / cold).toFixed(2)}x js-tiktoken and ${(results.get("tiktoken (wasm)")! / cold).toFixed(2)}x tiktoken (wasm) (goal: ≥1x js-tiktoken)`,
);

// (3) One long piece of random letters, which the split pattern keeps whole. js-tiktoken runs only
// on the short one: it took over a minute on 20,000 letters.
const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
let seed = 1;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const wasm2 = get_encoding("cl100k_base");
const longRows: (string | number)[][] = [
  ["letters", "herograd s", "js-tiktoken s", "tiktoken (wasm) s", "same ids"],
];
for (const length of [5000, 20000, 100000]) {
  const piece = Array.from({ length }, () => letters[Math.floor(random() * letters.length)]).join("");
  const fresh = ours.fork();
  let mine: number[] = [];
  const t0 = seconds(() => {
    mine = fresh.encodeOrdinary(piece);
  });
  let theirs: Uint32Array = new Uint32Array();
  const t2 = length <= 20000 ? seconds(() => (theirs = wasm2.encode_ordinary(piece))) : undefined;
  let viaJs: number[] = [];
  const t1 = length <= 5000 ? seconds(() => (viaJs = js.encode(piece))) : undefined;
  const same =
    (t2 === undefined || (mine.length === theirs.length && mine.every((id, i) => id === theirs[i]))) &&
    (t1 === undefined || JSON.stringify(viaJs) === JSON.stringify(mine));
  longRows.push([
    length.toLocaleString("en"),
    t0.toFixed(3),
    t1?.toFixed(3) ?? "skipped",
    t2?.toFixed(3) ?? "skipped",
    same ? "yes" : "NO",
  ]);
}
wasm2.free();
console.log("\ncl100k_base encode of one long piece (random letters, no spaces), one run each");
printTable(longRows);
