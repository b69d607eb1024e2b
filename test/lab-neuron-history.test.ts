/**
 * A neuron's history in Chromium, on the gallery's 200-unit network (a made-up history of 40
 * recorded steps): the step slider replays the network (the strip's fills are the recorded batch
 * means, the outlined units are the flagged ones and their count is printed, the edges are the
 * weights kept at or before the step), and a unit's detail draws its curves with a slider whose
 * numbers follow it. At 1440 and 800 px; screenshots go to out/test/lab-neuron-history/.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import type { LabServer } from "../src/cli/lab-server.js";
import { noChromium, watchErrors } from "./browser.js";
import { repoRoot } from "./helpers.js";
import { openLab } from "./lab-browser.js";

const shots = join(repoRoot, "out", "test", "lab-neuron-history");
const FIG = '.figure[data-figure="network-200"]';

/** Set a range input as a learner's drag does: its value, then an input event. */
async function slide(page: Page, selector: string, value: number): Promise<void> {
  await page.$eval(
    selector,
    (input, v) => {
      (input as HTMLInputElement).value = String(v);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    },
    value,
  );
}

/**
 * The selected unit's edges (all of them are drawn, in the order of the units they join): the
 * units, weight, colour and width, from their tooltips "a → b: w = …" and their strokes.
 */
async function selectedEdges(page: Page) {
  const edges = await page.$$eval(`${FIG} .selected-edges line`, (lines) =>
    lines.map((l) => ({
      title: l.querySelector("title")?.textContent ?? "",
      stroke: l.getAttribute("stroke"),
      width: Number(l.getAttribute("stroke-width")),
    })),
  );
  return edges.map((e) => {
    const [, pair, w] = /^(.*): w = (\S+)$/.exec(e.title)!;
    return { pair: pair!, w: Number(w), stroke: e.stroke, width: e.width };
  });
}

/** The flag count printed under the network, and the units outlined in its strip. */
async function flags(page: Page) {
  const text = (await page.locator(`${FIG} .network-flags`).textContent()) ?? "";
  const printed = Number(/(\d+) of 200 saturated/.exec(text)?.[1] ?? Number.NaN);
  const outlined = await page.$$eval(`${FIG} rect.strip-flag.saturated`, (rs) =>
    rs.map((r) => Number(r.getAttribute("data-neuron"))),
  );
  return { text, printed, outlined };
}

describe("a neuron's history in Chromium", { skip: noChromium, timeout: 120_000 }, () => {
  let server: LabServer;
  let page: Page;
  let close: (() => Promise<void>) | undefined;
  let errors: string[] = [];

  before(async () => {
    const lab = await openLab();
    server = lab.server;
    close = lab.close;
    mkdirSync(shots, { recursive: true });
    page = await lab.context.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}#/_gallery`);
    await page.waitForSelector('.experiment[data-state="done"]');
    await page.waitForSelector(`${FIG} svg.network`);
  });

  after(async () => {
    await close?.();
  });

  for (const width of [1440, 800]) {
    test(`at ${width} px: the network replays its flags, the panel's curves follow their slider`, async () => {
      await page.setViewportSize({ width, height: 900 });
      await page.locator(`${FIG} button[data-action="now"]`).click();
      // The end: the last recorded step's flags, counted and outlined alike.
      const end = await flags(page);
      assert.match(end.text, /Flags at step 1,950: 200 hidden tanh neurons h: \d+ of 200 saturated/);
      assert.equal(end.outlined.length, end.printed);
      assert.equal(await page.locator(`${FIG}`).getAttribute("data-replay"), "");

      // Step 0 replayed: more units saturated (the made-up history heals), fills from the batch means.
      await slide(page, `${FIG} .network-replay input[type="range"]`, 0);
      assert.equal(await page.locator(FIG).getAttribute("data-replay"), "0");
      const start = await flags(page);
      assert.match(start.text, /Flags at step 0:/);
      assert.equal(start.outlined.length, start.printed);
      assert.ok(
        start.printed > end.printed,
        `${start.printed} saturated at step 0, ${end.printed} at the end`,
      );
      assert.match((await page.locator(`${FIG} figcaption`).textContent()) ?? "", /Replaying step 0/);
      assert.ok(
        await page.locator(`${FIG} .flag-legend`).isVisible(),
        "the legend says what an outline means",
      );
      // Only the flags this network can have: its units are tanh, so no ReLU "dead" entry.
      assert.deepEqual(
        await page.$$eval(`${FIG} .flag-legend .legend-item`, (items) =>
          items.filter((i) => !(i as HTMLElement).hidden).map((i) => i.textContent),
        ),
        ["saturated: |tanh| > 0.97 on more than half of the batch"],
      );

      // A unit flagged at step 0: its detail's curves, its numbers at the slider's step.
      const unit = start.outlined.find((j) => !end.outlined.includes(j)) ?? start.outlined[0]!;
      await page.locator(`${FIG} rect.strip-cell[data-layer="1"][data-neuron="${unit}"]`).click();
      const detail = `.figure[data-kind="detail"][data-of="network-200:1,${unit}"]`;
      await page.waitForSelector(`${detail} .detail-history`);
      assert.equal(await page.locator(`${detail} .detail-history`).getAttribute("data-steps"), "40");
      const series = await page.$$eval(`${detail} .history-series`, (s) =>
        s.map((x) => (x as HTMLElement).dataset.series),
      );
      assert.deepEqual(series, ["weightNorm", "meanActivation", "saturated", "gradNorm", "updateRatio"]);
      for (const key of series)
        assert.ok(
          (await page.locator(`${detail} [data-series="${key}"] polyline`).count()) >= 1,
          `${key}: a curve`,
        );
      const saturatedAt = async () =>
        Number(
          await page.locator(`${detail} [data-series="saturated"] .history-value`).getAttribute("data-value"),
        );
      const position = () => page.locator(`${detail} .history-position`).textContent();
      // At the last step by default; at step 0 this unit is saturated on more than half of the batch.
      assert.match((await position()) ?? "", /^step 1,950 \(40 of 40 recorded\)$/);
      const last = await saturatedAt();
      await slide(page, `${detail} input[data-action="history-step"]`, 0);
      assert.match((await position()) ?? "", /^step 0 \(1 of 40 recorded\)$/);
      assert.ok((await saturatedAt()) > 0.5, "flagged at step 0: saturated on more than half");
      assert.equal(
        end.outlined.includes(unit),
        last > 0.5,
        "the flag at the end agrees with the curve's end",
      );
      // Under a curve, its axis: the lowest value at the bottom (not "from … to …", which reads
      // as the first step to the last, backwards for a falling curve).
      assert.match(
        (await page.locator(`${detail} [data-series="weightNorm"] .history-range`).textContent()) ?? "",
        /^bottom \d+\.\d+, top \d+\.\d+$/,
      );
      // The marker moved with the slider.
      const marker = await page
        .locator(`${detail} [data-series="saturated"] .history-marker`)
        .getAttribute("x1");
      assert.equal(Number(marker), 4);
      // The edges replay too. The gallery keeps weights at every 5th recorded step, from its own
      // with their signs flipped and halved (step 0) to its own (step 1,750): each edge of the
      // selected unit (all drawn) changes colour, not width, and its weight is −½ the end's.
      await page.locator(`${FIG} button[data-action="now"]`).click();
      const note = () => page.locator(`${FIG} .network-note`).textContent();
      const endNote = await note();
      const endEdges = await selectedEdges(page);
      assert.equal(endEdges.length, 30 + 27, "the selected unit's edges: 30 in, 27 out");
      assert.equal(await page.locator(FIG).getAttribute("data-edges-step"), "");
      await slide(page, `${FIG} .network-replay input[type="range"]`, 0);
      assert.equal(await page.locator(FIG).getAttribute("data-edges-step"), "0");
      assert.match(
        (await page.locator(`${FIG} figcaption`).textContent()) ?? "",
        /the edges are the weights at that step\./,
      );
      const startEdges = await selectedEdges(page);
      assert.deepEqual(
        startEdges.map((e) => e.pair),
        endEdges.map((e) => e.pair),
      );
      endEdges.forEach((end, k) => {
        const start = startEdges[k]!;
        const pair = `edge ${k} (${end.pair})`;
        assert.ok(
          Math.abs(start.w + end.w / 2) <= 1e-4,
          `${pair}: w ${start.w} at step 0, ${end.w} at the end`,
        );
        assert.ok(Math.abs(start.width - end.width) < 1e-6, `${pair}: the same width`);
        if (Math.abs(end.w) > 1e-3) assert.notEqual(start.stroke, end.stroke, `${pair}: the colour flips`);
      });
      // The threshold statement is of the weights drawn: halved at step 0.
      const threshold = (text: string | null) =>
        [...(text ?? "").matchAll(/\|w\| ≥ ([\d.]+)/g)].map((m) => Number(m[1]));
      const [startT, endT] = [threshold(await note()), threshold(endNote)];
      assert.ok(startT.length > 0 && startT.length === endT.length, `${await note()} / ${endNote}`);
      assert.notDeepEqual(startT, endT);
      // Past the last weights kept (step 1,750): they are the figure's own, and the caption says which.
      await slide(page, `${FIG} .network-replay input[type="range"]`, 39);
      assert.equal(await page.locator(FIG).getAttribute("data-edges-step"), "1750");
      assert.match(
        (await page.locator(`${FIG} figcaption`).textContent()) ?? "",
        /Replaying step 1,950: .*the edges are the weights at step 1,750, the last kept before it\./,
      );
      // (kept as float32: the widths equal to float32's precision)
      const lastKept = await selectedEdges(page);
      assert.deepEqual(
        lastKept.map(({ pair, w, stroke }) => ({ pair, w, stroke })),
        endEdges.map(({ pair, w, stroke }) => ({ pair, w, stroke })),
      );
      for (const [k, e] of lastKept.entries())
        assert.ok(Math.abs(e.width - endEdges[k]!.width) < 1e-6, e.pair);
      await slide(page, `${FIG} .network-replay input[type="range"]`, 0);
      // The network and the panel below it, in page coordinates.
      const top = await page.$eval(FIG, (f) => f.getBoundingClientRect().top + window.scrollY);
      const bottom = await page.$eval(detail, (d) => d.getBoundingClientRect().bottom + window.scrollY);
      await page.screenshot({
        path: join(shots, `gallery-${width}.png`),
        clip: { x: 0, y: top - 8, width, height: bottom - top + 16 },
        fullPage: true,
      });
      assert.deepEqual(errors, []);
    });
  }
});
