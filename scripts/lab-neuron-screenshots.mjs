#!/usr/bin/env node
// The README's screenshots of a neuron's life in the lab (issue 27), at 1440 and 800 px: lesson 7's
// "inside" experiment at its defaults, the detail of the MLP neuron it shows first (its top val
// contexts, histogram, the characters it pushes, the ablate buttons), and the "attention"
// experiment's head the loss misses most, ablated (the unchanged and ablated models side by
// side). Written to docs/lab-neuron-contexts-<width>.png and docs/lab-ablation-<width>.png, then
// reduced with `pngquant --quality 60-95`. Prints what dist/test/layout-check.js finds.
// Usage: npm run build && node scripts/lab-neuron-screenshots.mjs   (Chromium at /usr/bin/chromium or HERO_CHROMIUM)
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { labBuildDir, labDataFiles } from "../dist/src/cli/commands/lab.js";
import { startLabServer } from "../dist/src/cli/lab-server.js";
import { layoutProblems } from "../dist/test/layout-check.js";

const root = join(import.meta.dirname, "..");
const server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles(join(root, "data")) });
const browser = await chromium.launch({
  executablePath: process.env.HERO_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  ignoreDefaultArgs: ["--hide-scrollbars"], // as a desktop shows them
});

async function shot(page, selector, name) {
  // The page's other runs stopped, so nothing above moves while the picture is taken.
  for (const stop of await page.locator('button[data-action="stop"]').all())
    if (await stop.isEnabled()) await stop.click();
  await page.waitForTimeout(2000);
  for (const p of await page.evaluate(layoutProblems, {})) console.log(`${name}: ${p}`);
  const path = join(root, "docs", `${name}.png`);
  await page.locator(selector).scrollIntoViewIfNeeded();
  await page.locator(selector).screenshot({ path });
  execFileSync("pngquant", ["--quality", "60-95", "--force", "--ext", ".png", path]);
  console.log(`wrote ${path}`);
}

try {
  for (const width of [1440, 800]) {
    const page = await browser.newPage({ viewport: { width, height: 2200 } });
    page.setDefaultTimeout(180_000);
    await page.goto(`${server.url}#/07-gpt`);
    const inside = '.experiment[data-experiment="inside"]';
    await page.locator(`${inside} button[data-action="run"]`).click();
    await page.waitForSelector(`${inside}[data-state="done"]`);
    await page.waitForSelector(`${inside} .figure[data-figure="detail"] .detail-examples li`);
    await shot(page, `${inside} .figure[data-figure="detail"]`, `lab-neuron-contexts-${width}`);

    const att = '.experiment[data-experiment="attention"]';
    await page.locator(`${att} button[data-action="run"]`).click();
    await page.waitForSelector(`${att}[data-state="done"]`);
    const figure = `${att} .figure[data-figure="head-ablation"]`;
    const caption = (await page.locator(`${figure} figcaption`).textContent()) ?? "";
    const [, layer, head] = /Without layer (\d+), head (\d+)/.exec(caption) ?? [];
    const cells = page.locator(`${figure} svg [aria-label="cell"] rect`);
    const layers = Number(await page.locator(`${att} input[name="nLayer"]`).inputValue());
    await cells.nth(Number(layer) * ((await cells.count()) / layers) + Number(head)).click();
    const detail = `${att} .figure[data-figure="detail"]`;
    await page.locator(`${detail} button[data-action-id="ablate-zero"]`).click();
    await page.waitForSelector(`${att} .figure[data-figure="intervention"] .detail-compare table`);
    await shot(page, `${att} .figure[data-figure="intervention"]`, `lab-ablation-${width}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
