/**
 * The network figure stays readable at any width: the gallery's networks of 8, 27, 64, 200 and
 * 768 units a layer, in Chromium at 1440, 800 and 390 px. No two texts of a figure overlap, no
 * label is clipped (or shortened without a tooltip) or printed below 9 px, the figure fits its box
 * or scrolls with a visible scrollbar, every unit of a layer of up to 64 is drawn with its label,
 * the edges drawn are thinned with the threshold stated, and a cell of a wide layer's strip opens
 * that unit. Screenshots go to out/test/lab-network/.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import type { LabServer } from "../src/cli/lab-server.js";
import { noChromium } from "./browser.js";
import { repoRoot } from "./helpers.js";
import { openLab } from "./lab-browser.js";

const shots = join(repoRoot, "out", "test", "lab-network");
const LETTERS = [".", ..."abcdefghijklmnopqrstuvwxyz"];
const ALL_SHOWN = 64; // a layer up to this wide draws every unit

/** The gallery's networks: their sizes and the labels some of their layers must carry. */
const NETWORKS: { id: string; sizes: number[]; labels: Record<number, string[]> }[] = [
  { id: "network-8", sizes: [2, 8, 8, 1], labels: { 0: ["x", "y"], 3: ["score"] } },
  { id: "network-27", sizes: [27, 27], labels: { 0: LETTERS, 1: LETTERS } },
  {
    id: "network-64",
    sizes: [24, 64, 27],
    labels: {
      0: [..."emm"].flatMap((c) => Array.from({ length: 8 }, (_, d) => `${c}${"₀₁₂₃₄₅₆₇₈₉"[d]}`)),
      2: LETTERS,
    },
  },
  { id: "network-200", sizes: [30, 200, 27], labels: { 2: LETTERS } },
  { id: "network-768", sizes: [32, 768, 27], labels: { 0: Array.from({ length: 32 }, (_, c) => `c${c}`) } },
];

/** What is wrong with one network figure as drawn: an empty list when it reads well. */
async function problems(page: Page, id: string, sizes: number[], labels: Record<number, string[]>) {
  return page.$eval(
    `.figure[data-figure="${id}"]`,
    (figure, { sizes, labels, allShown }) => {
      const found: string[] = [];
      type Box = { what: string; r: DOMRect; el: Element };
      const boxes: Box[] = [];
      // Every text the figure prints: SVG texts, and the HTML text nodes (one box per line).
      for (const t of figure.querySelectorAll("svg text")) {
        const r = t.getBoundingClientRect();
        if (r.width > 0 && t.textContent?.trim())
          boxes.push({ what: `svg text "${t.textContent}"`, r, el: t });
      }
      const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const parent = n.parentElement!;
        if (!n.textContent?.trim() || parent.closest("svg") || parent.closest(".figure") !== figure) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        for (const r of range.getClientRects())
          if (r.width > 0) boxes.push({ what: `"${n.textContent.trim().slice(0, 40)}"`, r, el: parent });
      }
      const overlap = (a: DOMRect, b: DOMRect) =>
        Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1.5;
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++)
          if (boxes[i]!.el !== boxes[j]!.el && overlap(boxes[i]!.r, boxes[j]!.r))
            found.push(`${boxes[i]!.what} overlaps ${boxes[j]!.what}`);
      // Nothing clipped: a text outside a box that hides overflow needs that box to scroll.
      for (const { what, r, el } of boxes) {
        for (let a = el.parentElement; a && a !== figure.parentElement; a = a.parentElement) {
          const style = getComputedStyle(a);
          const box = a.getBoundingClientRect();
          const outside =
            r.left < box.left - 1 ||
            r.right > box.right + 1 ||
            r.top < box.top - 1 ||
            r.bottom > box.bottom + 1;
          if (!outside) continue;
          const hides =
            a instanceof SVGSVGElement || style.overflowX !== "visible" || style.overflowY !== "visible";
          const scrolls =
            ["auto", "scroll"].includes(style.overflowX) &&
            a.scrollWidth > a.clientWidth &&
            a.offsetHeight > a.clientHeight;
          if (a instanceof SVGSVGElement || (hides && !scrolls))
            found.push(`${what} is clipped by <${a.tagName}>`);
          if (a instanceof SVGSVGElement) break;
        }
        const text = el.textContent ?? "";
        if (text.includes("…")) {
          const titled =
            el.closest("[title]") ??
            el.querySelector("title") ??
            el.parentElement?.querySelector(":scope > title");
          if (!titled) found.push(`${what} is shortened without a tooltip`);
        }
      }
      // Readable: no SVG text scaled below 9 px.
      for (const t of figure.querySelectorAll<SVGTextElement>("svg text")) {
        const svg = t.ownerSVGElement!;
        const scale =
          svg.getBoundingClientRect().width / (svg.viewBox.baseVal?.width || svg.width.baseVal.value);
        const size = Number.parseFloat(getComputedStyle(t).fontSize) * scale;
        if (size < 9) found.push(`svg text "${t.textContent}" is ${size.toFixed(1)} px`);
      }
      // The figure fits its box, or its box scrolls with a scrollbar the learner can see.
      const body = figure.querySelector<HTMLElement>(".figure-body")!;
      for (const svg of body.querySelectorAll("svg")) {
        const wide = svg.getBoundingClientRect().right > body.getBoundingClientRect().right + 1;
        const scrollbar = body.scrollWidth > body.clientWidth && body.offsetHeight - body.clientHeight >= 4;
        if (wide && !scrollbar)
          found.push(
            `an SVG ${svg.getBoundingClientRect().width} px wide in a box of ${body.clientWidth} px, no scrollbar`,
          );
      }
      if (figure.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        found.push(`the figure ends at ${figure.getBoundingClientRect().right} px, past the window`);
      // Every unit of a layer up to `allShown` is a neuron with its label.
      sizes.forEach((n, l) => {
        if (n > allShown) return;
        for (let j = 0; j < n; j++) {
          const at = `[data-layer="${l}"][data-neuron="${j}"]`;
          if (!figure.querySelector(`circle.neuron${at}`)) found.push(`no neuron ${l}, ${j}`);
          const label = figure.querySelector(`text.neuron-label${at}`)?.textContent ?? "";
          const want = labels[l]?.[j];
          if (!label) found.push(`neuron ${l}, ${j} has no label`);
          else if (want !== undefined && label !== want && !label.endsWith("…"))
            found.push(`neuron ${l}, ${j} is labelled "${label}", not "${want}"`);
        }
      });
      return found;
    },
    { sizes, labels, allShown: ALL_SHOWN },
  );
}

describe("the network figure in Chromium", { skip: noChromium, timeout: 300_000 }, () => {
  let server: LabServer;
  let page: Page;
  let close: (() => Promise<void>) | undefined;
  const errors: string[] = [];

  // One page, resized: each width is the same gallery laid out again for its new box.
  before(async () => {
    const lab = await openLab();
    server = lab.server;
    close = lab.close;
    mkdirSync(shots, { recursive: true });
    page = await lab.context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${server.url}#/_gallery`);
    await page.waitForSelector('.experiment[data-state="done"]');
    for (const { id } of NETWORKS) await page.waitForSelector(`.figure[data-figure="${id}"] svg.network`);
  });

  after(async () => {
    await close?.();
  });

  // A unit of each wide network to open through its strip, at each width.
  const clicks: Record<number, [string, number][]> = {
    1440: [
      ["network-200", 137],
      ["network-768", 700],
    ],
    800: [
      ["network-200", 61],
      ["network-768", 5],
    ],
    390: [
      ["network-200", 199],
      ["network-768", 384],
    ],
  };

  for (const width of [1440, 800, 390]) {
    test(`the gallery's networks at ${width} px: labelled, nothing overprinted or clipped`, async () => {
      await page.setViewportSize({ width, height: 900 });
      // Every network laid out again for the width of its box.
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>(".figure-network")].every(
          (f) => f.dataset.width === String(f.querySelector(".figure-body")!.clientWidth),
        ),
      );
      for (const { id, sizes, labels } of NETWORKS)
        assert.deepEqual(await problems(page, id, sizes, labels), [], `${id} at ${width} px`);

      // Edges are thinned to the strongest, and the figure says how.
      const note = (await page.locator('.figure[data-figure="network-200"]').textContent()) ?? "";
      assert.match(note, /the \d+ strongest of [\d,]+ weights.*\|w\| ≥ \d/);
      const edges = await page.locator('.figure[data-figure="network-768"] svg.network line').count();
      assert.ok(edges >= 20 && edges <= 400, `${edges} edges drawn for the 768-unit network`);

      // A unit of a wide layer, reached through its strip, opens like any neuron and is drawn as one.
      for (const [id, unit] of clicks[width]!) {
        const fig = `.figure[data-figure="${id}"]`;
        await page.locator(`${fig} rect.strip-cell[data-layer="1"][data-neuron="${unit}"]`).click();
        const detail = `.figure[data-kind="detail"][data-of="${id}:1,${unit}"]`;
        await page.waitForSelector(`${detail} .detail-code .code-line.current`);
        assert.equal(await page.locator(`${detail} h4`).textContent(), `Layer 1, unit ${unit}`);
        await page.waitForSelector(`${fig} circle.neuron.selected[data-layer="1"][data-neuron="${unit}"]`);
        assert.equal(
          await page.locator(`${fig} text.neuron-label[data-layer="1"][data-neuron="${unit}"]`).textContent(),
          String(unit),
        );
        assert.deepEqual(await problems(page, id, NETWORKS.find((n) => n.id === id)!.sizes, {}), []);
      }
      // Paging through the rest of a wide layer draws other units as neurons.
      const fig = '.figure[data-figure="network-768"]';
      const units = () =>
        page.$$eval(`${fig} circle.neuron[data-layer="1"]`, (cs) =>
          cs.map((c) => c.getAttribute("data-neuron")).join(),
        );
      const before = await units();
      await page.locator(`${fig} button[data-action="next"]`).click();
      assert.notEqual(await units(), before);
      await page.screenshot({ path: join(shots, `gallery-${width}.png`), fullPage: true });
      assert.deepEqual(errors, []);
    });
  }
});
