#!/usr/bin/env node
// The README's screenshots of the lab's figures: lessons 2, 3, 6 and 7, each page opened at 1440
// and at 800 px wide, its experiments run to their end at their defaults, then one experiment's
// panel saved as docs/lab-<lesson>-<width>.png (then reduced with `pngquant --quality 60-95`).
// Prints what dist/test/layout-check.js finds on each page (nothing, when the figures are right).
// Usage: npm run build && node scripts/lab-screenshots.mjs   (Chromium at /usr/bin/chromium or HERO_CHROMIUM)
import { join } from "node:path";
import { chromium } from "playwright-core";
import { labBuildDir, labDataFiles } from "../dist/src/cli/commands/lab.js";
import { startLabServer } from "../dist/src/cli/lab-server.js";
import { layoutProblems } from "../dist/test/layout-check.js";

const root = join(import.meta.dirname, "..");
const SHOTS = [
  ["02-bigram", "neural"],
  ["03-mlp", "mlp"],
  ["06-wavenet", "wavenet"],
  ["07-gpt", "inside"],
];
const WIDTHS = [1440, 800];

const server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles(join(root, "data")) });
const browser = await chromium.launch({
  executablePath: process.env.HERO_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  ignoreDefaultArgs: ["--hide-scrollbars"], // as a desktop shows them
});
try {
  for (const [lesson, experiment] of SHOTS) {
    for (const width of WIDTHS) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`${server.url}#/${lesson}`);
      await page.waitForFunction(
        () => {
          const panels = [...document.querySelectorAll(".experiment")];
          return panels.length > 0 && panels.every((e) => ["done", "error"].includes(e.dataset.state ?? ""));
        },
        undefined,
        { timeout: 300_000, polling: 250 },
      );
      await page.waitForTimeout(500);
      for (const p of await page.evaluate(layoutProblems, {})) console.log(`${lesson} at ${width} px: ${p}`);
      const path = join(root, "docs", `lab-${lesson}-${width}.png`);
      const panel = page.locator(`.experiment[data-experiment="${experiment}"]`);
      // A window as tall as the panel: Chromium paints no scrollbars in a capture beyond the window.
      const box = await panel.boundingBox();
      await page.setViewportSize({ width, height: Math.ceil((box?.height ?? 900) + 40) });
      await page.waitForTimeout(300);
      await panel.screenshot({ path });
      console.log(`wrote ${path}`);
      await page.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
