/**
 * The lab's layout in Chromium, over every lesson after each experiment has run at its defaults:
 * at 1440 and 800 px wide the page does not scroll sideways, no two labels of a figure overlap, no
 * figure is drawn shrunk below 90% of the size it was laid out at, and nothing a figure draws is cut
 * by a box without a visible scrollbar (test/layout-check.ts measures); at 390 px (a phone) the
 * page still fits. Screenshots go to out/test/lab-layout/.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { lessons } from "../lessons/index.js";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { type LabServer, startLabServer } from "../src/cli/lab-server.js";
import { launchChromium, noChromium } from "./browser.js";
import { dataDir, repoRoot } from "./helpers.js";
import { layoutProblems } from "./layout-check.js";

const shots = join(repoRoot, "out", "test", "lab-layout");
const WIDTHS = [1440, 800];
const PHONE = 390;

/**
 * Seconds a training run (a streaming experiment) computes before it is stopped: by then it has
 * drawn every figure it draws, with the ranges of a run well under way, and the test stays within
 * a few minutes on CI. Quick experiments run to their end.
 */
const TRAINING_S = 12;

/** Run every experiment of the page at its defaults, one after the other (the page's queue). */
async function runAll(page: Page): Promise<void> {
  await page.waitForFunction(
    (seconds) => {
      const w = window as unknown as { runningSince?: Map<Element, number> };
      w.runningSince ??= new Map();
      const panels = [...document.querySelectorAll<HTMLElement>(".experiment")];
      for (const e of panels) {
        if (e.dataset.streaming !== "true" || e.dataset.state !== "running") continue;
        const since = w.runningSince.get(e) ?? performance.now();
        w.runningSince.set(e, since);
        if (performance.now() - since > seconds * 1000)
          e.querySelector<HTMLButtonElement>('button[data-action="stop"]')?.click();
      }
      return panels.length > 0 && panels.every((e) => ["done", "error"].includes(e.dataset.state ?? ""));
    },
    TRAINING_S,
    { timeout: 240_000, polling: 250 },
  );
  const failed = await page.$$eval(".experiment[data-state=error] .status", (s) =>
    s.map((e) => e.textContent),
  );
  assert.deepEqual(failed, [], "every experiment runs at its defaults");
}

/**
 * Runs beyond the defaults whose figures broke before: lesson 1's loss at a learning rate that
 * diverges (tens of millions, once printed "0,000,000" cut at the axis).
 */
const EXTRA_RUNS: Record<string, { experiment: string; param: string; value: string }[]> = {
  "01-micrograd": [{ experiment: "moons", param: "learningRate", value: "10" }],
};

/** Two frames after a resize: the figures have laid themselves out again. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((done) =>
        requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 250))),
      ),
  );
}

describe("the lab's layout at 1440, 800 and 390 px", { skip: noChromium, timeout: 900_000 }, () => {
  let server: LabServer;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  before(async () => {
    if (!existsSync(join(labBuildDir, "index.html"))) await buildLab();
    server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles(dataDir) });
    const browser = await launchChromium(["--disable-gpu"], { showScrollbars: true });
    context = browser.context;
    context.setDefaultTimeout(60_000);
    closeBrowser = browser.close;
    mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await closeBrowser?.();
    await server?.close();
  });

  // HERO_LAYOUT_LESSONS=06-wavenet,07-gpt: those lessons only (while fixing one).
  const only = process.env.HERO_LAYOUT_LESSONS?.split(",");
  for (const entry of lessons.filter((l) => !only || only.includes(l.id))) {
    test(`lesson ${entry.id}: fits, no overlapping labels, nothing shrunk or cut`, async () => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.setViewportSize({ width: WIDTHS[0]!, height: 900 });
      await page.goto(`${server.url}#/${entry.id}`);
      await page.waitForSelector(`#page[data-lesson="${entry.id}"] .experiment`);
      await runAll(page);
      const problems: string[] = [];
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        await settle(page);
        for (const p of await page.evaluate(layoutProblems, {})) problems.push(`at ${width} px: ${p}`);
        await page.screenshot({ path: join(shots, `${entry.id}-${width}.png`), fullPage: true });
      }
      for (const { experiment, param, value } of EXTRA_RUNS[entry.id] ?? []) {
        await page.setViewportSize({ width: WIDTHS[0]!, height: 900 });
        const panel = page.locator(`.experiment[data-experiment="${experiment}"]`);
        const runs = Number(await panel.getAttribute("data-run"));
        const input = panel.locator(`input[name="${param}"]`);
        await input.fill(value);
        await input.dispatchEvent("change");
        await page.waitForFunction(
          ([sel, n]) => {
            const e = document.querySelector<HTMLElement>(sel as string);
            return Number(e?.dataset.run) > (n as number) && e?.dataset.state === "done";
          },
          [`.experiment[data-experiment="${experiment}"]`, runs] as const,
          { timeout: 120_000 },
        );
        await settle(page);
        for (const p of await page.evaluate(layoutProblems, {}))
          problems.push(`at ${WIDTHS[0]} px with ${param} = ${value}: ${p}`);
      }
      await page.setViewportSize({ width: PHONE, height: 800 });
      await settle(page);
      for (const p of await page.evaluate(layoutProblems, { pageOnly: true }))
        problems.push(`at ${PHONE} px: ${p}`);
      assert.deepEqual(problems, [], `${entry.id}:\n${problems.join("\n")}`);
      assert.deepEqual(errors, []);
      await page.close();
    });
  }
});
