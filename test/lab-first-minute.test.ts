/**
 * The lab's first minute, in Chromium: the home page says what the lab is and what this browser
 * gives it, an unknown address says so, the experiments of a page compute one at a time at full
 * speed, bad input is named beside its control (and Run says why it does not start), and lesson 3's
 * defaults beat the bigram of lesson 2 on the dev split.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { lessons } from "../lessons/index.js";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { type LabServer, startLabServer } from "../src/cli/lab-server.js";
import { launchChromium, noChromium, watchErrors } from "./browser.js";
import { dataDir } from "./helpers.js";

/** The dev loss of lesson 2's bigram (counts, +1 smoothing), which lesson 3's MLP must beat. */
const BIGRAM_DEV = 2.45;

/** The value of a stats item of a panel, by its label. */
async function stat(page: Page, panel: string, label: string): Promise<string> {
  return page.$eval(
    `${panel} .figure[data-kind="stats"]`,
    (figure, wanted) => {
      const dt = [...figure.querySelectorAll("dt")].find((d) => d.textContent === wanted);
      return dt?.nextElementSibling?.textContent ?? "";
    },
    label,
  );
}

describe("the lab's first minute", { skip: noChromium, timeout: 300_000 }, () => {
  let server: LabServer;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  before(async () => {
    if (!existsSync(join(labBuildDir, "index.html"))) await buildLab();
    server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles(dataDir) });
    const browser = await launchChromium(["--disable-gpu"]);
    context = browser.context;
    context.setDefaultTimeout(60_000);
    closeBrowser = browser.close;
  });

  after(async () => {
    await closeBrowser?.();
    await server?.close();
  });

  test("the home page: what the lab is, the ten lessons, the engine of this browser", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(server.url);
    await page.waitForSelector(".home");
    assert.equal(await page.locator(".experiment").count(), 0, "the home page runs nothing");
    const items = page.locator(".home-lessons li");
    assert.equal(await items.count(), lessons.length);
    for (const [i, entry] of lessons.entries()) {
      const item = items.nth(i);
      assert.equal(await item.getAttribute("data-lesson"), entry.id);
      assert.equal(await item.locator("a").getAttribute("href"), `#/${entry.id}`);
      assert.match((await item.locator(".runs").textContent()) ?? "", /^Runs .+(seconds|s|minute|minutes)$/);
    }
    await page.waitForSelector(".engine[data-ready]");
    const engine = (await page.locator(".engine").textContent()) ?? "";
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.match(engine, new RegExp(`WebAssembly with ${cores} thread`));
    assert.match(engine, /no WebGPU/); // Chromium runs with --disable-gpu here
    // A lesson's link opens it.
    await items.nth(2).locator("a").click();
    await page.waitForSelector('#page[data-lesson="03-mlp"] .experiment');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("an unknown address says so and links home", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}#/no-such-lesson`);
    await page.waitForSelector(".not-found");
    assert.match((await page.locator(".not-found").textContent()) ?? "", /No such page.*#\/no-such-lesson/s);
    assert.equal(await page.locator(".experiment").count(), 0, "no lesson is shown in its place");
    await page.locator('.not-found a[href="#/"]').click();
    await page.waitForSelector(".home");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 3: one experiment computes at a time, at full speed; the defaults beat the bigram", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}#/03-mlp`);
    const mlp = '.experiment[data-experiment="mlp"]';
    const second = '.experiment[data-experiment="embedding-2d"]';
    await page.waitForSelector(`${mlp}[data-state="running"]`);
    assert.equal(
      await page.locator(`${mlp} select[aria-label="speed"] option:checked`).textContent(),
      "full speed",
    );
    // The others wait their turn, and say so.
    assert.equal(await page.locator(second).getAttribute("data-state"), "queued");
    assert.match((await page.locator(`${second} .status`).textContent()) ?? "", /Train the MLP/);
    await page.waitForSelector(`${mlp}[data-state="done"]`, { timeout: 240_000 });
    const dev = Number(await stat(page, mlp, "dev loss"));
    assert.ok(dev < BIGRAM_DEV, `dev loss ${dev} at the defaults, the bigram's ${BIGRAM_DEV}`);
    assert.ok(Number(await stat(page, mlp, "train loss")) < BIGRAM_DEV);
    // Then the next one computes.
    await page.waitForSelector(`${second}:is([data-state="running"], [data-state="done"])`);
    // The lecture's full run is offered.
    assert.equal(await page.locator(`${mlp} button[data-preset]`).count(), 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 10: the reward chart spans the episodes played; the output neuron reads its title's frame", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}#/10-pong`);
    const train = '.experiment[data-experiment="train"]';
    await page.waitForSelector(`${train}[data-run]`);
    const runs = Number(await page.locator(train).getAttribute("data-run"));
    const episodes = page.locator(`${train} input[name="episodes"]`);
    await episodes.fill("20");
    await episodes.dispatchEvent("change");
    await page.waitForFunction(
      ([sel, n]) => {
        const e = document.querySelector<HTMLElement>(sel as string);
        return Number(e?.dataset.run) > (n as number) && e?.dataset.state === "done";
      },
      [train, runs] as const,
      { timeout: 240_000 },
    );
    await page.waitForTimeout(300);
    const ticks = await page
      .locator(`${train} .figure[data-figure="reward"] [aria-label="x-axis tick label"] text`)
      .allTextContents();
    assert.ok(ticks.length >= 2, "the reward chart has an x axis");
    const last = Math.max(...ticks.map((t) => Number(t.replace(/[^\d.-]/g, ""))));
    assert.ok(last <= 20, `the axis ends at ${last}, within the 20 episodes played (not the run's budget)`);
    const title = (await page.locator(`${train} .figure[data-figure="policy"] h4`).textContent()) ?? "";
    const up = /P\(UP\) = (\d\.\d{3})/.exec(title)?.[1];
    assert.ok(up, title);
    const shown = await page
      .locator(`${train} .figure[data-kind="detail"][data-of="policy:1,0"] dd[data-label="P(UP) = σ(logit)"]`)
      .getAttribute("data-value");
    assert.equal(Number(shown).toFixed(3), up, "the output neuron's panel and the network's title agree");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("bad input: the allowed range beside the control, and Run says why it does not start", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}#/01-micrograd`);
    const moons = '.experiment[data-experiment="moons"]';
    await page.waitForSelector(`${moons}[data-state="done"]`);
    const runs = Number(await page.locator(moons).getAttribute("data-run"));
    const steps = page.locator(`${moons} input[name="steps"]`);
    await steps.fill("2.5");
    await steps.dispatchEvent("change");
    const message = page.locator(`${moons} label:has(input[name="steps"]) .control-error`);
    assert.match((await message.textContent()) ?? "", /whole number from 1 to [\d,]+/);
    assert.equal(await steps.getAttribute("aria-invalid"), "true");
    await page.locator(`${moons} button[data-action="run"]`).click();
    assert.match((await page.locator(`${moons} .status`).textContent()) ?? "", /^not started: steps: "2\.5"/);
    assert.equal(Number(await page.locator(moons).getAttribute("data-run")), runs, "no run started");
    // A good value clears the message and runs.
    await steps.fill("20");
    await steps.dispatchEvent("change");
    assert.equal(await message.textContent(), "");
    await page.waitForFunction(
      ([sel, n]) => Number(document.querySelector<HTMLElement>(sel as string)?.dataset.run) > (n as number),
      [moons, runs] as const,
    );
    await page.waitForSelector(`${moons}[data-state="done"]`);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
