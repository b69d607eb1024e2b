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
 *   hero bench lab [-- --lessons 3,10 --timeout 120]
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { lessons } from "../lessons/index.js";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { startLabServer } from "../src/cli/lab-server.js";
import { benchArgs, printTable } from "./util.js";

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

const { values } = benchArgs({
  lessons: { type: "string", default: "" },
  timeout: { type: "string", default: "120" },
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
  ],
  viewport: { width: 1440, height: 900 },
});

const rows: string[][] = [["lesson / experiment", "complete at", "ends at", "lecture"]];
const misses: string[] = [];
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
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(
  `the lab at its defaults in Chromium (wasm, no GPU): seconds from opening the page to each experiment's first complete result`,
);
printTable(rows);
console.log(
  misses.length === 0
    ? `all goals met (first experiment ${FIRST_S} s, every experiment ${PAGE_S} s, Pong +${PONG_MARGIN} in ${PONG_S} s)`
    : `goals missed:\n  ${misses.join("\n  ")}`,
);
