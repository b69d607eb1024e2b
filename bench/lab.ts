/**
 * bench/lab: the lab as a new learner meets it. Opens every lesson in Chromium at its defaults and
 * prints, per experiment, the time from opening the page to its first complete result and the
 * figures it ends at (losses, reward), beside the lecture's. Experiments of a page compute one at
 * a time (the page's queue), so a time includes the wait for the experiments before it.
 *
 * Goals on a 2-core machine: each lesson's first experiment complete within 15 s, every
 * experiment of a page within 60 s, lesson 10's running reward 0.5 over the random policy's
 * within 120 s (printed with "W1 on the paddles": how far W1's images are from noise, 1). Needs the built lab (dist/lab) and the data sets (HERO_DATA_DIR).
 *
 * Then the memory of a neuron history (lessons/neuron-history.ts) in the same Chromium: a
 * 200-unit tanh layer recorded at every one of 2,000 training steps, and at the lessons' default
 * capacity, with the weights into it and out of it kept for the edges (64 snapshots); goal under
 * 20 MB (--no-memory skips it).
 *
 *   hero bench lab [-- --lessons 3,10 --timeout 120]
 */
import "../src/backend/select.js";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { chromium, type Page } from "playwright-core";
import { lessons } from "../lessons/index.js";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { startLabServer } from "../src/cli/lab-server.js";
import { benchArgs, printTable, repoRoot } from "./util.js";

/** The lectures' figures for each experiment (lesson/experiment), from anchors/LECTURES.md. */
const LECTURE: Record<string, string> = {
  "01-micrograd/moons": "loss 0.0110, acc 100% (100 steps)",
  "02-bigram/counting": "NLL 2.4546",
  "02-bigram/neural": "loss 2.4818",
  "03-mlp/mlp": "train 2.1260, dev 2.1701 (200k steps)",
  "04-activations/batchnorm": "train 2.0674, val 2.1057 (200k steps)",
  "05-backprop-ninja/manual-training": "train 2.0705, val 2.1099 (200k steps)",
  "06-wavenet/wavenet": "train 1.7690, val 1.9937 (200k steps)",
  "07-gpt/gpt": "val 1.88 (nanoGPT CPU, 2000 iters)",
  "09-gpt2/init": "loss at init ≈ ln 50,257 = 10.82; one batch overfit to near 0 in 50 steps (124M)",
  "09-gpt2/train": "build-nanogpt's GPT-2 124M: val 3.2924 on FineWeb-edu (10B tokens)",
  "09-gpt2/gpt2": "val 3.2924 (GPT-2 124M, FineWeb-edu)",
  "10-pong/train": "pg-pong: above random after days of CPU",
};

/** The goals this bench checks (seconds, reward). */
const FIRST_S = 15;
const PAGE_S = 60;
const PONG_S = 120;
const PONG_MARGIN = 0.5;
const HISTORY_MB = 20;

const { values } = benchArgs({
  lessons: { type: "string", default: "" },
  timeout: { type: "string", default: "120" },
  "no-memory": { type: "boolean", default: false },
});
const only = values.lessons ? values.lessons.split(",").map((s) => s.trim()) : [];
const timeoutS = Number(values.timeout);
const chosen = lessons.filter(
  (l) => only.length === 0 || only.includes(String(l.number)) || only.includes(l.id),
);

/** The stats figures of a panel, as "label value" pairs, keeping the ones that say how it ended. */
async function endFigures(page: Page, panel: string): Promise<string> {
  const items = await page.$$eval(`${panel} .figure[data-kind="stats"] dt`, (dts) =>
    dts.map((dt) => [dt.textContent ?? "", dt.nextElementSibling?.textContent ?? ""]),
  );
  const keep = items.filter(
    ([label]) =>
      /loss|reward|over random|accuracy|nll|acc|val|hellaswag|^episode$|^steps$|^W1 on/i.test(label!) &&
      !/lecture/i.test(label!),
  );
  return keep.map(([label, value]) => `${label} ${value}`).join(", ");
}

/** Lesson 10: seconds until the running reward is PONG_MARGIN over the random policy's (or undefined). */
async function pongMargin(
  page: Page,
  panel: string,
  limitS: number,
  opened: number,
): Promise<number | undefined> {
  const deadline = opened + limitS * 1000;
  while (Date.now() < deadline) {
    const over = await page
      .$$eval(`${panel} .figure[data-kind="stats"] dt`, (dts) => {
        const dt = dts.find((d) => d.textContent === "over random");
        return Number(dt?.nextElementSibling?.textContent ?? Number.NaN);
      })
      .catch(() => Number.NaN);
    if (over >= PONG_MARGIN) return (Date.now() - opened) / 1000;
    await page.waitForTimeout(500);
  }
  return undefined;
}

/**
 * Train a 30 → 200 tanh → 27 network for 2,000 steps in the page with a NeuronRecorder on its
 * hidden layer, keeping both layers' weights for the edges as lesson 3 does (dist/ served as ES
 * modules): the bytes of the recorder's arrays, and how much the JS heap grew beside them (its
 * history handed out as a figure's plain arrays included).
 */
async function historyMemory(page: Page, capacity: number) {
  return page.evaluate(async (capacity) => {
    // Served from dist/: the specifiers are the page's, the types this file's.
    const load = (path: string) => import(path);
    await load("/src/backend/select.js"); // the tensor package registers no backend of its own
    const T = (await load("/src/tensor/index.js")) as typeof import("../src/tensor/index.js");
    const nn = (await load("/src/nn/index.js")) as typeof import("../src/nn/index.js");
    const { SGD } = (await load("/src/optim/index.js")) as typeof import("../src/optim/index.js");
    const { NeuronRecorder } = (await load(
      "/lessons/neuron-history.js",
    )) as typeof import("../lessons/neuron-history.js");
    const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
    const heap = () => {
      gc();
      return (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
    };
    const g = new T.Random(1);
    const first = new nn.Linear(30, 200, { generator: g });
    const second = new nn.Linear(200, 27, { generator: g });
    const model = new nn.Sequential(first, new nn.Tanh(), second);
    const X = T.randn([32, 30], { generator: g });
    const Y = T.tensor(
      Array.from({ length: 32 }, (_, i) => i % 27),
      { dtype: "int32" },
    );
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const step = () =>
      T.tidy(() => {
        const loss = T.crossEntropy(model.forward(X), Y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      });
    for (let i = 0; i < 20; i++) step(); // warm: the backend's buffers exist before the baseline
    // Whether this heap size counts typed arrays' bytes (then they are not added again).
    const bare = heap();
    const probe = new Float32Array(1_000_000);
    const counted = heap() - bare > 2e6;
    probe[0] = 1;
    const before = heap();
    const recorder = new NeuronRecorder(
      model,
      [
        {
          layer: 1,
          weight: first.weight,
          orientation: "rows",
          nonlinearity: "tanh",
          module: model.layers[1]!,
        },
      ],
      { interval: 1, capacity, edges: [{ layer: 2, weight: second.weight, orientation: "rows" }] },
    );
    const started = performance.now();
    for (let i = 0; i < 2000; i++) step();
    recorder.settle();
    const seconds = (performance.now() - started) / 1000;
    const recording = heap() - before;
    // What a network figure and a neuron's detail carry: copies of the recorded values.
    const figure = recorder.network();
    const detail = recorder.neuron(1, 0);
    const figures =
      figure.layers.reduce((n, l) => n + l.meanActivation.byteLength + (l.saturated?.byteLength ?? 0), 0) +
      (figure.weights?.layers.reduce((n, l) => n + l.values.byteLength, 0) ?? 0) +
      8 * 6 * (detail?.steps.length ?? 0);
    const total = heap() - before;
    return {
      steps: recorder.steps.length,
      snapshots: figure.weights?.steps.length ?? 0,
      arrays: recorder.bytes,
      figures,
      heap: counted ? total : total + recorder.bytes + figures,
      recording,
      counted,
      seconds,
    };
  }, capacity);
}

/** dist/ as ES modules, for pages that import herograd itself. */
function serveDist() {
  const dist = join(repoRoot, "dist");
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const file = normalize(join(dist, path));
    if (path === "/") {
      res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>history memory</title>");
      return;
    }
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": file.endsWith(".js") ? "text/javascript" : "application/octet-stream",
    });
    res.end(readFileSync(file));
  });
}

if (!existsSync(join(labBuildDir, "index.html"))) await buildLab();
const server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles() });
const profile = mkdtempSync(join(tmpdir(), "herograd-bench-lab-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.HERO_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // For the history's memory: a gc() to call, and heap sizes that are not rounded.
    "--js-flags=--expose-gc",
    "--enable-precise-memory-info",
  ],
  viewport: { width: 1440, height: 900 },
});

const rows: string[][] = [["lesson / experiment", "complete at", "ends at", "lecture"]];
const misses: string[] = [];
const historyLines: string[] = [];
try {
  for (const entry of chosen) {
    const lesson = await entry.load();
    const page = await browser.newPage();
    const opened = Date.now();
    await page.goto(`${server.url}#/${entry.id}`);
    const ids = lesson.sections.flatMap((s) => (s.experiment ? [s.experiment.id] : []));
    let first = true;
    for (const id of ids) {
      const panel = `.experiment[data-experiment="${id}"]`;
      const key = `${entry.id}/${id}`;
      let shown: string;
      let seconds: number | undefined;
      if (key === "10-pong/train") {
        seconds = await pongMargin(page, panel, PONG_S, opened);
        shown =
          seconds === undefined
            ? `not ${PONG_MARGIN} over random in ${PONG_S} s`
            : `+${PONG_MARGIN} over random at ${seconds.toFixed(1)} s`;
        if (seconds === undefined) misses.push(`${key}: margin ${PONG_MARGIN} not reached in ${PONG_S} s`);
        shown = `${shown}; ${await endFigures(page, panel)}`;
        await page
          .locator(`${panel} button[data-action="stop"]`)
          .click()
          .catch(() => {});
      } else {
        const remaining = Math.max(1, timeoutS * 1000 - (Date.now() - opened));
        const done = await page
          .waitForSelector(`${panel}:is([data-state="done"], [data-state="error"])`, { timeout: remaining })
          .then(() => true)
          .catch(() => false);
        seconds = done ? (Date.now() - opened) / 1000 : undefined;
        const state = await page.locator(panel).getAttribute("data-state");
        shown =
          state === "error"
            ? `error: ${await page.locator(`${panel} .status`).textContent()}`
            : await endFigures(page, panel);
        const limit = first ? FIRST_S : PAGE_S;
        if (seconds === undefined || seconds > limit)
          misses.push(
            `${key}: ${seconds === undefined ? "not complete" : `${seconds.toFixed(1)} s`} (goal ${limit} s)`,
          );
      }
      const row = [
        key,
        seconds === undefined ? "—" : `${seconds.toFixed(1)} s`,
        shown || "—",
        LECTURE[key] ?? "",
      ];
      rows.push(row);
      console.log(`  ${row.join("  ·  ")}`); // as it goes; the table follows at the end
      first = false;
    }
    await page.close();
  }
  if (!values["no-memory"]) {
    const dist = serveDist();
    await new Promise<void>((resolve) => dist.listen(0, "127.0.0.1", resolve));
    const { port } = dist.address() as { port: number };
    try {
      for (const capacity of [2048, 256]) {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/`);
        const m = await historyMemory(page, capacity);
        await page.close();
        const mb = m.heap / 1e6;
        const kept =
          capacity === 2048
            ? "every step kept"
            : `capacity ${capacity}, every ${Math.round(2000 / m.steps)}th step`;
        const line = `neuron history, 200 units × 2,000 steps (${kept}): ${m.steps} steps recorded, the 11,400 weights at ${m.snapshots} of them; its arrays ${(m.arrays / 1e6).toFixed(2)} MB, a figure's and a detail's copies ${(m.figures / 1e6).toFixed(2)} MB; the page's memory grew ${mb.toFixed(2)} MB in all (goal < ${HISTORY_MB} MB; typed arrays ${m.counted ? "in" : "added to"} the JS heap size); 2,000 steps in ${m.seconds.toFixed(1)} s`;
        historyLines.push(line);
        console.log(`  ${line}`);
        if (!(mb < HISTORY_MB)) misses.push(`neuron history: ${mb.toFixed(2)} MB (goal ${HISTORY_MB} MB)`);
      }
    } finally {
      dist.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(
  `the lab at its defaults in Chromium (wasm, no GPU): seconds from opening the page to each experiment's first complete result`,
);
printTable(rows);
for (const line of historyLines) console.log(line);
console.log(
  misses.length === 0
    ? `all goals met (first experiment ${FIRST_S} s, every experiment ${PAGE_S} s, Pong +${PONG_MARGIN} in ${PONG_S} s)`
    : `goals missed:\n  ${misses.join("\n  ")}`,
);
