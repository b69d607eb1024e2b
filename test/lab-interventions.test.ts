/**
 * A neuron's life in the lab (issue 27), in Chromium: lesson 7's trained GPT, a click on an MLP
 * neuron shows the val contexts that excite it most (each token coloured, the strongest boxed),
 * the histogram of its activation, the characters it pushes up and down, and the buttons to
 * ablate it; a click on "set to 0" answers with the val loss before and after and the unchanged
 * and ablated models side by side. Screenshots go to out/test/lab-interventions/.
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

const shots = join(repoRoot, "out", "test", "lab-interventions");

describe("a neuron's contexts and its ablation in Chromium", { skip: noChromium, timeout: 240_000 }, () => {
  let server: LabServer;
  let page: Page;
  let errors: string[];
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    const lab = await openLab(["--disable-gpu"], { timeout: 90_000 });
    server = lab.server;
    close = lab.close;
    mkdirSync(shots, { recursive: true });
    page = await lab.context.newPage();
    errors = watchErrors(page);
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  after(async () => {
    await close?.();
  });

  test("lesson 7: click a neuron, see its top contexts and the ablate button, ablate it, see the comparison", async () => {
    await page.goto(`${server.url}#/07-gpt`);
    const inside = '.experiment[data-experiment="inside"]';
    // Run it now, before the page's other experiments (they wait or are held meanwhile).
    await page.locator(`${inside} button[data-action="run"]`).click();
    await page.waitForSelector(`${inside}[data-state="done"]`);

    // The third most active neuron of block 1.
    await page
      .locator(`${inside} .figure[data-figure="mlp-neurons"] svg [aria-label="cell"] rect`)
      .nth(18)
      .click();
    const detail = `${inside} .figure[data-figure="detail"][data-of="mlp-neurons:1,2"]`;
    await page.waitForSelector(`${detail} .detail-examples li`);
    assert.equal(await page.locator(`${detail} .detail-examples li`).count(), 8);
    // One boxed token per context, the strongest of its line, and the contexts strongest first.
    const contexts = await page.$$eval(`${detail} .detail-examples li`, (items) =>
      items.map((li) => {
        const values = [...li.querySelectorAll<HTMLElement>(".example-token")].map((t) =>
          Number(t.dataset.value),
        );
        const max = li.querySelectorAll<HTMLElement>(".example-token.max");
        return { values, boxed: max.length, top: Number(max[0]?.dataset.value) };
      }),
    );
    for (const c of contexts) {
      assert.equal(c.boxed, 1);
      assert.ok(
        c.values.every((v) => v <= c.top),
        "the boxed token is the strongest of its window",
      );
    }
    for (let i = 1; i < contexts.length; i++) assert.ok(contexts[i]!.top <= contexts[i - 1]!.top);
    // The histogram counts every val token it names; the pushed characters are listed.
    const total = Number(await page.locator(`${detail} .detail-histogram`).getAttribute("data-total"));
    assert.match(
      (await page.locator(`${detail} .detail-histogram`).textContent()) ?? "",
      new RegExp(total.toLocaleString("en")),
    );
    assert.equal(await page.locator(`${detail} .effects-up .token`).count(), 8);
    assert.equal(await page.locator(`${detail} .effects-down .token`).count(), 8);
    await page.locator(detail).screenshot({ path: join(shots, "neuron-contexts-1440.png") });

    // Ablate it: the loss before and after, and the two models side by side.
    const ablate = page.locator(`${detail} button[data-action-id="ablate-zero"]`);
    assert.equal(await ablate.textContent(), "Ablate: set to 0");
    await ablate.click();
    const answer = `${inside} .figure[data-figure="intervention"]`;
    await page.waitForSelector(`${answer} .detail-compare table`);
    const value = async (label: string) =>
      Number(await page.locator(`${answer} dd[data-label="${label}"]`).getAttribute("data-value"));
    const [beforeLoss, afterLoss, delta] = [
      await value("val loss, unchanged"),
      await value("val loss, intervened"),
      await value("change Δ"),
    ];
    assert.ok(beforeLoss > 0 && afterLoss > 0);
    // Δ to the losses' 4 decimals, signed as the % beside it (not 5.245e-5 beside "+0.00%").
    assert.match(
      (await page.locator(`${answer} dd[data-label="change Δ"]`).textContent()) ?? "",
      /^[+-]\d\.\d{4}$/,
    );
    assert.ok(Math.abs(afterLoss - beforeLoss - delta) <= 5e-5 + 1e-9);
    const heads = await page.locator(`${answer} .detail-compare thead th`).allTextContents();
    assert.deepEqual(heads.slice(1), ["unchanged model", "neuron ablated"]);
    assert.equal(await page.locator(`${answer} .detail-compare tbody tr`).count(), 3);
    // The answer sits right below the neuron's detail, whose buttons are free again.
    assert.ok(
      await page.$eval(detail, (d) => d.nextElementSibling?.getAttribute("data-figure") === "intervention"),
    );
    assert.equal(await ablate.isEnabled(), true);
    await page.locator(answer).screenshot({ path: join(shots, "ablation-1440.png") });

    // Another neuron: the old answer goes.
    await page
      .locator(`${inside} .figure[data-figure="mlp-neurons"] svg [aria-label="cell"] rect`)
      .nth(0)
      .click();
    await page.waitForSelector(
      `${inside} .figure[data-figure="detail"][data-of="mlp-neurons:0,0"] .detail-examples`,
    );
    assert.equal(await page.locator(answer).count(), 0);
    assert.deepEqual(errors, []);
  });
});
