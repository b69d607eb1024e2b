/**
 * Lesson 9 in Chromium: with no file chosen the page trains a small GPT-2 on Shakespeare and
 * samples words from it; the download button fetches GPT-2 from a server laid out like Hugging
 * Face's (here a local one serving the tiny fixture model), keeps it in the browser's storage and
 * loads it from there on the next visit without asking the server again. Screenshots of the page
 * at 1440 and 800 px go to out/test/lab/.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { type LabServer, startLabServer } from "../src/cli/lab-server.js";
import { launchChromium, noChromium, watchErrors } from "./browser.js";
import { dataDir, fixture, repoRoot } from "./helpers.js";

const shots = join(repoRoot, "out", "test", "lab");
const REPO = "/openai-community/gpt2/resolve/main/";

/** A stand-in for huggingface.co: the tiny GPT-2 at Hugging Face's paths, each request counted. */
async function fakeHuggingFace(): Promise<{ url: string; requests: Map<string, number>; server: Server }> {
  const files: Record<string, string> = {
    [`${REPO}model.safetensors`]: fixture("gpt2_tiny/model.safetensors"),
    [`${REPO}config.json`]: fixture("gpt2_tiny/config.json"),
  };
  const requests = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? "";
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const file = files[path];
    // Hugging Face answers cross-origin requests (CORS): the lab's page is on another origin.
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.byteLength });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

/** Stop every experiment of the page but `keep`, so the one under test has the cores. */
async function stopOthers(page: Page, keep: string): Promise<void> {
  // Until `keep` has its turn: stopping the running one starts the next in the page's queue,
  // whose Stop is enabled only once it runs.
  await page.waitForFunction(
    (id) => {
      let kept: HTMLElement | undefined;
      for (const e of document.querySelectorAll<HTMLElement>(".experiment")) {
        if (e.dataset.experiment === id) kept = e;
        else e.querySelector<HTMLButtonElement>('button[data-action="stop"]:enabled')?.click();
      }
      return ["running", "paused", "done", "error"].includes(kept?.dataset.state ?? "");
    },
    keep,
    { polling: 100 },
  );
}

const INIT = '.experiment[data-experiment="init"]';
const TRAIN = '.experiment[data-experiment="train"]';
const GPT2 = '.experiment[data-experiment="gpt2"]';

describe("lesson 9 in Chromium", { skip: noChromium, timeout: 600_000 }, () => {
  let lab: LabServer;
  let hf: Awaited<ReturnType<typeof fakeHuggingFace>>;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  before(async () => {
    if (!existsSync(join(labBuildDir, "index.html"))) await buildLab();
    lab = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles(dataDir) });
    hf = await fakeHuggingFace();
    const browser = await launchChromium(["--disable-gpu"]);
    context = browser.context;
    context.setDefaultTimeout(120_000);
    closeBrowser = browser.close;
    mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await closeBrowser?.();
    await lab?.close();
    await new Promise((resolve) => hf?.server.close(resolve));
  });

  test("the page opens as the lecture does: the loss at init near ln 50,257, then one batch overfit", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${lab.url}#/09-gpt2`);
    // The first experiment of the page computes first, by itself, at its defaults.
    await page.waitForSelector(`${INIT}[data-state="done"]`, { timeout: 300_000 });
    await stopOthers(page, "init");
    const stats = Object.fromEntries(
      await page.$$eval(`${INIT} .figure[data-figure="stats"] dt`, (dts) =>
        dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
      ),
    );
    assert.ok(
      Math.abs(Number(stats["loss at initialization"]) - Math.log(50257)) < 0.3,
      stats["loss at initialization"],
    );
    assert.equal(stats.step, "50 / 50");
    assert.ok(Number(stats["loss on the batch"]) < 0.1, `loss on the batch ${stats["loss on the batch"]}`);
    assert.equal(
      Number(await page.locator(`${INIT} .figure[data-figure="overfit"]`).getAttribute("data-points")),
      50,
    );
    const [recited, batch] = await page
      .locator(`${INIT} .figure[data-figure="recited"] .token-sequence .token-text`)
      .evaluateAll((rows) => rows.map((r) => r.textContent));
    assert.ok(recited && recited === batch, `recited "${recited}", the batch "${batch}"`);
    assert.ok((await page.locator(`${INIT} .figure[data-figure="untrained"] .token`).count()) > 16);
    await page.screenshot({ path: join(shots, "09-gpt2-init-1440.png"), fullPage: false });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("with no file chosen, the page trains a small GPT-2 on Shakespeare and samples words", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${lab.url}#/09-gpt2`);
    await page.waitForSelector(`${TRAIN}[data-run]`);
    await stopOthers(page, "train");
    // A short run (the Node test trains the same model): every parameter in one task, one re-run.
    const before = Number(await page.locator(TRAIN).getAttribute("data-run"));
    await page.evaluate((sel) => {
      const set = {
        steps: "30",
        nEmbd: "32",
        blockSize: "32",
        choices: "4",
        sampleTokens: "30",
        prompt: "ROMEO:",
      };
      for (const [name, value] of Object.entries(set)) {
        const input = document.querySelector<HTMLInputElement | HTMLTextAreaElement>(
          `${sel} [name="${name}"]`,
        )!;
        input.value = value;
        input.dispatchEvent(new Event("input"));
        input.dispatchEvent(new Event("change"));
      }
      const speed = document.querySelector<HTMLSelectElement>(`${sel} select[aria-label="speed"]`);
      if (speed) {
        speed.value = [...speed.options].find((o) => o.text === "fast")?.value ?? speed.value;
        speed.dispatchEvent(new Event("change"));
      }
    }, TRAIN);
    await page.waitForFunction(
      ([sel, n]) => {
        const e = document.querySelector<HTMLElement>(sel as string);
        return Number(e?.dataset.run) > (n as number) && ["done", "error"].includes(e?.dataset.state ?? "");
      },
      [TRAIN, before] as const,
      { timeout: 300_000 },
    );
    assert.equal(await page.locator(`${TRAIN} .status`).getAttribute("class"), "status status-done");
    assert.equal(await page.locator(TRAIN).getAttribute("data-backend"), "wasm");
    const stats = Object.fromEntries(
      await page.$$eval(`${TRAIN} .figure[data-figure="stats"] dt`, (dts) =>
        dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
      ),
    );
    assert.equal(stats.step, "30 / 30");
    // Far below ln 50,257 = 10.82: the model learned which tokens Shakespeare uses.
    assert.ok(Number(stats["val loss"]) < 8, `val loss ${stats["val loss"]}`);
    assert.ok(
      Number(await page.locator(`${TRAIN} .figure[data-figure="loss"]`).getAttribute("data-points")) >= 30,
    );
    // The samples: at least 70% of their words are in Shakespeare's text (random GPT-2 tokens: under 50%).
    const vocabulary = new Set(
      (readFileSync(join(dataDir, "tinyshakespeare.txt"), "utf8").match(/[A-Za-z']+/g) ?? []).map((w) =>
        w.toLowerCase(),
      ),
    );
    const samples = await page.$$eval(`${TRAIN} .figure[data-figure="samples"] .token-sequence`, (seqs) =>
      seqs.map((s) => [...s.querySelectorAll(".token")].map((t) => t.textContent ?? "").join("")),
    );
    assert.equal(samples.length, 2);
    for (const sample of samples) {
      const words = (sample.replace(/^ROMEO:/, "").match(/[A-Za-z']+/g) ?? []).map((w) => w.toLowerCase());
      const known = words.filter((w) => vocabulary.has(w)).length / words.length;
      assert.ok(words.length >= 5 && known >= 0.7, `${Math.round(100 * known)}% known words in "${sample}"`);
    }
    // The inside views work on the trained model: the logit lens and the neurons are drawn.
    await page.waitForSelector(`${TRAIN} .figure[data-figure="logit-lens"] svg`);
    await page.waitForSelector(`${TRAIN} .figure[data-figure="mlp-neurons"] svg`);
    for (const width of [1440, 800]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(shots, `09-gpt2-train-${width}.png`), fullPage: true });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the download button fetches GPT-2, keeps it in the browser and loads it from there next time", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const address = `${lab.url}?hf_endpoint=${encodeURIComponent(hf.url)}#/09-gpt2`;
    await page.goto(address);
    await page.waitForSelector(`${GPT2} .download[data-state="idle"]`);
    await stopOthers(page, "gpt2");
    await page.waitForSelector(`${GPT2}[data-state="done"]`);
    const download = page.locator(`${GPT2} button[data-action="download"]`);
    assert.match((await download.textContent()) ?? "", /^Download GPT-2 \(124M\) from Hugging Face/);
    const runs = Number(await page.locator(GPT2).getAttribute("data-run"));
    await download.click();
    await page.waitForSelector(`${GPT2} .download[data-state="cached"]`);
    await page.waitForFunction(
      ([sel, n]) => {
        const e = document.querySelector<HTMLElement>(sel as string);
        return Number(e?.dataset.run) > (n as number) && e?.dataset.state === "done";
      },
      [GPT2, runs] as const,
    );
    // The tiny model's 4 heads come from the config.json downloaded beside it.
    const model = await page.locator(`${GPT2} .figure[data-figure="model"] dd`).allTextContents();
    assert.equal(model[1], "2 × 4 × 32");
    assert.equal(
      await page.locator(`${GPT2} .figure[data-figure="model"] h4`).textContent(),
      "model.safetensors",
    );
    assert.equal(hf.requests.get(`${REPO}model.safetensors`), 1);
    assert.equal(hf.requests.get(`${REPO}config.json`), 1);
    await page.screenshot({ path: join(shots, "09-gpt2-downloaded.png"), fullPage: true });

    // The next visit: the button reads the browser's storage; the server is not asked again.
    await page.goto("about:blank");
    await page.goto(address);
    await page.waitForSelector(`${GPT2} .download[data-state="cached"]`);
    await stopOthers(page, "gpt2");
    await page.waitForSelector(`${GPT2}[data-state="done"]`);
    const load = page.locator(`${GPT2} button[data-action="download"]`);
    assert.equal(await load.textContent(), "Load GPT-2 (124M) from this browser's storage");
    const again = Number(await page.locator(GPT2).getAttribute("data-run"));
    await load.click();
    await page.waitForFunction(
      ([sel, n]) => {
        const e = document.querySelector<HTMLElement>(sel as string);
        return Number(e?.dataset.run) > (n as number) && e?.dataset.state === "done";
      },
      [GPT2, again] as const,
    );
    assert.equal(
      (await page.locator(`${GPT2} .figure[data-figure="model"] dd`).allTextContents())[1],
      "2 × 4 × 32",
    );
    assert.equal(hf.requests.get(`${REPO}model.safetensors`), 1);
    assert.equal(hf.requests.get(`${REPO}config.json`), 1);

    // Forget empties the storage: the button downloads again.
    await page.locator(`${GPT2} button[data-action="forget"]`).click();
    await page.waitForSelector(`${GPT2} .download[data-state="idle"]`);
    assert.match((await load.textContent()) ?? "", /^Download/);
    assert.equal(
      await page.evaluate(async () => (await (await caches.open("herograd-downloads")).keys()).length),
      0,
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a server that refuses says so beside the button", async () => {
    const page = await context.newPage();
    await page.goto(`${lab.url}?hf_endpoint=${encodeURIComponent(`${hf.url}/missing`)}#/09-gpt2`);
    await page.waitForSelector(`${GPT2} .download[data-state="idle"]`);
    await stopOthers(page, "gpt2");
    await page.locator(`${GPT2} button[data-action="download"]`).click();
    await page.waitForSelector(`${GPT2} .download[data-state="error"]`);
    assert.match(
      (await page.locator(`${GPT2} .download-note`).textContent()) ?? "",
      /\/missing\/openai-community\/gpt2\/resolve\/main\/config\.json: HTTP 404/,
    );
    await page.close();
  });
});
