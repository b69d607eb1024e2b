/**
 * The lab end to end, in real Chromium (Debian's, driven by playwright-core): every lesson page
 * loads without console errors, runs its experiments and draws its figures; the backprop
 * step-through steps; a typed expression redraws its graph; a training run can be paused and
 * resumed while its loss curve grows. Screenshots go to out/test/lab/.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { findLesson, lessons } from "../lessons/index.js";
import { collectingContext, type DetailFigure, parseParams } from "../lessons/lesson.js";
import { labDataFiles } from "../src/cli/commands/lab.js";
import type { LabServer } from "../src/cli/lab-server.js";
import { noChromium, SWIFTSHADER_WEBGPU, watchErrors } from "./browser.js";
import { close, dataDir, fixture, repoRoot } from "./helpers.js";
import { openLab as openServedLab } from "./lab-browser.js";

const shots = join(repoRoot, "out", "test", "lab");
const skip = noChromium;

/** Points drawn in an SVG path (M and L commands of Plot's line). */
async function pathPoints(page: Page, selector: string): Promise<number> {
  return page.$$eval(`${selector} svg path[stroke]`, (paths) =>
    Math.max(0, ...paths.map((p) => (p.getAttribute("d") ?? "").split(/[ML]/).length - 1)),
  );
}

/** One click into a lesson: the experiment, its parameters, the figure and the element clicked. */
interface NeuronCase {
  lesson: string;
  section: string;
  experiment: string;
  /** Parameters typed into the panel before the run. */
  set: Record<string, string>;
  figure: string;
  target: number[];
  /** The element to click, inside the figure. */
  click: string;
}

/** The same run in Node and its detail for the same click: the engine's own numbers. */
async function engineDetail(c: NeuronCase, extra: Record<string, unknown> = {}): Promise<DetailFigure> {
  const experiment = (await findLesson(c.lesson)!.load()).sections.find((s) => s.id === c.section)!
    .experiment!;
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, { ...c.set, ...extra }), context);
  const events = await context.select(c.figure, c.target);
  const detail = events.find((e) => e.type === "figure" && e.figure.kind === "detail");
  assert.ok(detail?.type === "figure" && detail.figure.kind === "detail");
  return detail.figure;
}

/**
 * Click the element, wait for the detail of it, and check what the panel shows: every number
 * against the engine's (Node, same seed), the formula typeset, the line of code marked.
 */
async function checkClick(
  page: Page,
  c: NeuronCase,
  expected: DetailFigure,
  rtol: number,
  atol = 1e-6,
): Promise<void> {
  const panel = `.experiment[data-experiment="${c.experiment}"]`;
  await page.locator(`${panel} .figure[data-figure="${c.figure}"] ${c.click}`).first().click();
  const detail = `${panel} .figure[data-kind="detail"][data-of="${c.figure}:${c.target.join(",")}"]`;
  await page.waitForSelector(`${detail} .detail-code .code-line.current`);
  const shown = await page.$$eval(`${detail} dd[data-label]`, (dds) =>
    dds.map((d) => [(d as HTMLElement).dataset.label!, (d as HTMLElement).dataset.value!]),
  );
  assert.equal(await page.locator(`${detail} h4`).textContent(), expected.title);
  assert.deepEqual(
    shown.map(([label]) => label),
    expected.values.map((v) => v.label),
  );
  for (const [i, [label, text]] of shown.entries()) {
    const want = expected.values[i]!.value;
    if (typeof want === "string") assert.equal(text, want, label);
    else
      assert.ok(
        close(Number(text), want, atol, rtol),
        `${c.lesson} ${label}: the page shows ${text}, the engine ${want}`,
      );
  }
  assert.ok((await page.locator(`${detail} .detail-math .katex`).count()) >= 1, "the formula is typeset");
  const line = (await page.locator(`${detail} .code-line.current`).textContent()) ?? "";
  assert.ok(line.includes(expected.code!.line), `the marked line "${line}" computes it`);
  // The element clicked is marked in its figure.
  assert.ok((await page.locator(`${panel} .figure[data-figure="${c.figure}"] .selected`).count()) >= 1);
}

/** Stop every running experiment of the page but `keep`, so the one under test has the cores. */
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

/** Type the parameters into the panel and wait until that run is done. */
async function runWith(page: Page, experiment: string, set: Record<string, string>): Promise<void> {
  const panel = `.experiment[data-experiment="${experiment}"]`;
  await page.waitForSelector(`${panel}[data-run]`);
  const before = Number(await page.locator(panel).getAttribute("data-run"));
  // Every parameter changes in one task, so the panel re-runs once. Set one at a time, a loaded
  // machine can let the first change's run start, and end, before the next change re-runs it:
  // the wait below would then pass on the first run and the second would redraw under the test.
  await page.evaluate(
    ([sel, values]) => {
      for (const [name, value] of Object.entries(values)) {
        const input = document.querySelector<HTMLInputElement | HTMLSelectElement>(`${sel} [name="${name}"]`);
        if (!input) throw new Error(`no parameter "${name}" in ${sel}`);
        input.value = value;
        input.dispatchEvent(new Event("change"));
      }
    },
    [panel, set] as const,
  );
  if (Object.keys(set).length === 0) await page.locator(`${panel} button[data-action="run"]`).click();
  await page.waitForFunction(
    ([sel, n]) => {
      const e = document.querySelector<HTMLElement>(sel as string);
      return Number(e?.dataset.run) > (n as number) && e?.dataset.state === "done";
    },
    [panel, before],
    { timeout: 120_000 },
  );
}

/**
 * test/lab-browser.ts's openLab, with the data sets pinned as `hero lab` serves them to a fresh
 * user (HERO_DATA_DIR unset, no cache: the copies herograd ships) and checked first.
 */
async function openLab(gpuArgs: string[]): Promise<{
  server: LabServer;
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  delete process.env.HERO_DATA_DIR;
  process.env.HOME = mkdtempSync(join(tmpdir(), "hero-home-"));
  assert.deepEqual(
    Object.values(labDataFiles()),
    ["names.txt", "tinyshakespeare.txt", "taylorswift.txt"].map((f) => join(dataDir, f)),
  );
  mkdirSync(shots, { recursive: true });
  // Its 60 s default wait: pages train while they draw, beside another test file on 2 cores.
  return openServedLab(gpuArgs);
}

/**
 * Lesson 9 with the tiny GPT-2 of the fixtures standing in for the learner's download; it runs
 * on `expectBackend` (wasm, or webgpu where the browser has an adapter).
 */
async function runLesson9(context: BrowserContext, url: string, expectBackend: string): Promise<void> {
  const page = await context.newPage();
  const errors = watchErrors(page, { failedRequests: true });
  await page.goto(`${url}#/09-gpt2`);
  const gpt2 = '.experiment[data-experiment="gpt2"]';
  await page.waitForSelector(`${gpt2}[data-run]`);
  await stopOthers(page, "gpt2"); // the page's training run: lab-gpt2.test.ts tests it
  // It waits for the training run to stop at its next step: on a software WebGPU adapter under
  // load one step can take many seconds.
  await page.waitForSelector(`${gpt2}[data-state="done"]`, { timeout: 180_000 });
  assert.match((await page.locator(`${gpt2} .run-log`).textContent()) ?? "", /huggingface\.co/);
  // The tiny GPT-2 of the fixtures stands in for the learner's download (4 heads of 8 channels).
  await page.locator(`${gpt2} input[name="heads"]`).fill("4");
  await page.locator(`${gpt2} input[name="heads"]`).dispatchEvent("change");
  await page
    .locator(`${gpt2} input[type="file"][name="weights"]`)
    .setInputFiles(fixture("gpt2_tiny/model.safetensors"));
  await page.waitForSelector(`${gpt2} .figure[data-figure="wpe"] svg [aria-label="cell"] rect`, {
    timeout: 60_000,
  });
  await page.waitForSelector(`${gpt2}[data-state="done"]`, { timeout: 180_000 });
  assert.deepEqual(
    await page.$$eval(".experiment[data-state=error] .status", (s) => s.map((e) => e.textContent)),
    [],
  );
  // wpe of the tiny model: 32 positions × 32 channels; three channels as curves over 32 positions.
  assert.equal(
    await page.locator(`${gpt2} .figure[data-figure="wpe"] svg [aria-label="cell"] rect`).count(),
    32 * 32,
  );
  assert.equal(
    Number(await page.locator(`${gpt2} .figure[data-figure="wpe-columns"]`).getAttribute("data-points")),
    3 * 32,
  );
  const stats = await page.locator(`${gpt2} .figure[data-figure="model"] dd`).allTextContents();
  assert.equal(stats[1], "2 × 4 × 32");
  // The prompt's 28 bytes stand in for token ids; 24 more were sampled.
  assert.equal(await page.locator(`${gpt2} .figure[data-figure="generated"] .token`).count(), 28 + 24);
  const engine = (await page.locator(`${gpt2} .backend`).textContent()) ?? "";
  assert.equal(await page.locator(gpt2).getAttribute("data-backend"), expectBackend, engine);
  // A neuron of the tiny GPT-2: the panel shows what the engine computes in Node for the same click.
  const click: NeuronCase = {
    lesson: "09-gpt2",
    section: "gpt2",
    experiment: "gpt2",
    set: { heads: "4" },
    figure: "mlp-neurons",
    target: [1, 2],
    click: '[aria-label="cell"] >> nth=0 >> rect >> nth=18',
  };
  const bytes = new Uint8Array(readFileSync(fixture("gpt2_tiny/model.safetensors")));
  const expected = await engineDetail(click, { weights: { name: "model.safetensors", bytes } });
  // WebGPU computes in float32 on its own kernels: a looser tolerance there.
  if (expectBackend === "webgpu") await checkClick(page, click, expected, 1e-2, 1e-4);
  else await checkClick(page, click, expected, 1e-3);
  await page.screenshot({ path: join(shots, `09-gpt2-loaded-${expectBackend}.png`), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
}

describe("the lab in Chromium", { skip, timeout: 120_000 + 60_000 * lessons.length }, () => {
  let server: LabServer;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;
  const outside: string[] = [];

  before(async () => {
    ({ server, context, close } = await openLab(["--disable-gpu"]));
    // Offline: nothing may be fetched from anywhere but the lab's own server.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url)) return route.continue();
      outside.push(url);
      return route.abort();
    });
  });

  after(async () => {
    await close?.();
  });

  for (const entry of lessons) {
    test(`lesson ${entry.id}: loads, runs every experiment, draws every figure`, async () => {
      const page = await context.newPage();
      const errors = watchErrors(page, { failedRequests: true });
      await page.goto(`${server.url}#/${entry.id}`);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the page is cross-origin isolated");
      await page.waitForSelector(`#page[data-lesson="${entry.id}"] .experiment`);
      const lesson = await entry.load();
      const experiments = lesson.sections.filter((s) => s.experiment).length;
      assert.equal(await page.locator(".experiment").count(), experiments);
      // Every experiment starts on load, one after the other (the page's queue). Quick ones must
      // finish; a training run (streaming) must have drawn its figures, each curve at least two
      // points, and is then stopped — in the same page task as the check, so no event can add a
      // figure in between — which lets the next one start.
      await page.waitForFunction(
        () => {
          const panels = [...document.querySelectorAll<HTMLElement>(".experiment")];
          const drawn = (e: HTMLElement) =>
            e.dataset.streaming === "true" &&
            e.dataset.state === "running" &&
            e.querySelectorAll(".figure").length > 0 &&
            [...e.querySelectorAll<HTMLElement>('.figure[data-kind="line"]')].every(
              (f) => Number(f.dataset.points ?? 0) >= 2,
            );
          for (const e of panels)
            if (drawn(e)) e.querySelector<HTMLButtonElement>('button[data-action="stop"]')?.click();
          return panels.every((e) => ["done", "error"].includes(e.dataset.state ?? ""));
        },
        undefined,
        { timeout: 60_000 * 2, polling: 200 },
      );
      await page.waitForTimeout(300); // the stopped runs draw what they had
      const failed = await page.$$eval(".experiment[data-state=error] .status", (s) =>
        s.map((e) => e.textContent),
      );
      assert.deepEqual(failed, []);

      // Every figure has real drawn content, by kind.
      const figures = await page.$$eval(".figure", (list) =>
        list.map((f) => ({
          kind: (f as HTMLElement).dataset.kind,
          id: (f as HTMLElement).dataset.figure,
          graphNodes: f.querySelectorAll("svg g.node").length,
          circles: f.querySelectorAll("svg circle").length,
          lines: f.querySelectorAll("svg line, svg path.edge-bundle").length,
          canvases: f.querySelectorAll("canvas").length,
          rects: f.querySelectorAll("svg rect").length,
          points: Number((f as HTMLElement).dataset.points ?? 0),
          values: f.querySelectorAll("dd").length,
          images: f.querySelectorAll("svg image").length,
          tokens: f.querySelectorAll(".token").length,
        })),
      );
      assert.ok(figures.length >= experiments, "each experiment drew at least one figure");
      for (const f of figures) {
        if (f.kind === "graph") assert.ok(f.graphNodes >= 2, `${f.id}: ${f.graphNodes} graph nodes`);
        if (f.kind === "network")
          assert.ok(f.circles >= 2 && f.lines >= 1, `${f.id}: a network of ${f.circles} neurons`);
        if (f.kind === "field")
          assert.ok(f.rects > 20 && f.circles >= 20, `${f.id}: ${f.rects} cells, ${f.circles} points`);
        if (f.kind === "line") assert.ok(f.points >= 2, `${f.id}: ${f.points} points`);
        if (f.kind === "stats") assert.ok(f.values >= 1);
        if (f.kind === "heatmap")
          assert.ok(f.rects >= 1 || f.images >= 1, `${f.id}: a heatmap with ${f.rects} cells`);
        if (f.kind === "scatter") assert.ok(f.circles >= 2, `${f.id}: ${f.circles} dots`);
        if (f.kind === "tokens") assert.ok(f.tokens >= 1, `${f.id}: ${f.tokens} tokens`);
        if (f.kind === "images") assert.ok(f.canvases >= 1, `${f.id}: ${f.canvases} images`);
        if (f.kind === "detail") assert.ok(f.values >= 1, `${f.id}: ${f.values} numbers`);
      }
      // The engine ran on wasm, with a thread per core: the page is cross-origin isolated.
      const engines = await page.$$eval(".experiment[data-backend]", (list) =>
        list.map((e) => `${(e as HTMLElement).dataset.backend} ${(e as HTMLElement).dataset.threads}`),
      );
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      assert.ok(engines.length >= 1, "the worker said which backend runs");
      for (const engine of engines) assert.equal(engine, `wasm ${cores}`);
      // Code cells show source and the math is typeset.
      assert.ok((await page.locator(".cell-code pre").count()) >= 1);
      assert.ok((await page.locator(".katex").count()) >= 1);

      await page.screenshot({ path: join(shots, `${entry.id}.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test("lesson 1: step through backprop, type an expression, pause and resume training", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/01-micrograd`);
    const expression = page.locator('.experiment[data-experiment="expression"]');
    await expression.locator('.figure[data-kind="graph"] svg g.node').first().waitFor();
    const graph = expression.locator('.figure[data-kind="graph"]');

    // The lecture's L = (a·b + c)·f: 7 values, 3 ops.
    assert.equal(await graph.locator("svg g.node").count(), 10);
    // Back to the forward pass: every grad 0; then one step at a time, the current node highlighted.
    await graph.locator('button[data-action="first"]').click();
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>(".figure-graph")?.dataset.frame === "0",
    );
    const gradTexts = async () =>
      graph
        .locator("svg g.node text")
        .evaluateAll((ts) => ts.map((t) => t.textContent ?? "").filter((t) => t.startsWith("grad")));
    assert.ok((await gradTexts()).every((t) => t === "grad 0.0000"));
    await graph.locator('button[data-action="step"]').click();
    await graph.locator('svg polygon[fill="#ffd27f"]').first().waitFor();
    assert.ok((await gradTexts()).includes("grad 1.0000"), "the output's grad is 1 after the first step");
    await graph.locator('button[data-action="step"]').click();
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>(".figure-graph")?.dataset.frame === "2",
    );
    assert.match((await graph.locator(".graph-caption").textContent()) ?? "", /passes its grad/);
    await graph.press("ArrowRight");
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>(".figure-graph")?.dataset.frame === "3",
    );
    await graph.press("Home");
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>(".figure-graph")?.dataset.frame === "0",
    );
    await graph.press("End");
    assert.ok((await graph.locator(".graph-caption .katex").count()) >= 1);

    // Typing an expression re-runs it: y = x·x + x has 3 values and 2 ops, dy/dx = 2x + 1 = 7.
    await expression.locator("textarea").fill("x = 3.0\ny = x * x + x");
    await page.waitForFunction(() =>
      document
        .querySelector('.experiment[data-experiment="expression"] .run-log')
        ?.textContent?.includes("dy/dx = 7.0"),
    );
    await page.waitForFunction(
      () => document.querySelectorAll('.experiment[data-experiment="expression"] svg g.node').length === 5,
    );
    // A mistake shows a message in the panel, not a console error.
    await expression.locator("textarea").fill("x = 3.0\ny = x *");
    await page.waitForSelector('.experiment[data-experiment="expression"][data-state="error"]');
    await expression.locator("textarea").fill("x = 3.0\ny = x * x");
    await page.waitForSelector('.experiment[data-experiment="expression"][data-state="done"]');

    // The neuron: moving a slider re-runs it live (x2 = 1 changes n and o).
    const neuron = page.locator('.experiment[data-experiment="neuron"]');
    const neuronCaption = neuron.locator('.figure[data-figure="neuron"] figcaption');
    assert.match((await neuronCaption.textContent()) ?? "", /o = tanh\(n\) = 0\.7071/);
    await neuron.locator('input[type="range"][aria-label="x2"]').fill("1");
    await page.waitForFunction(() =>
      document
        .querySelector('.experiment[data-experiment="neuron"] .figure[data-figure="neuron"] figcaption')
        ?.textContent?.includes("n = 1.8814"),
    );

    // Training: a longer run, paused and resumed; the loss curve grows only while it runs.
    const moons = page.locator('.experiment[data-experiment="moons"]');
    await page
      .waitForSelector('.experiment[data-experiment="moons"][data-state="done"]', { timeout: 60_000 })
      .catch(async (error) => {
        const state = await moons.getAttribute("data-state");
        const status = await moons.locator(".status").textContent();
        throw new Error(`the moons run did not finish (state ${state}, "${status}"): ${error}`);
      });
    const loss = '.experiment[data-experiment="moons"] .figure[data-figure="loss"]';
    const drawnPoints = () =>
      page.$eval(loss, (f) => Number((f as HTMLElement).dataset.points ?? 0)).catch(() => 0);
    // Watched step by step (a choice of the learner: runs go at full speed by default).
    await moons.locator('select[aria-label="speed"]').selectOption({ label: "watch step by step" });
    await moons.locator('input[name="steps"]').fill("400");
    await moons.locator('input[name="steps"]').dispatchEvent("change");
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="running"]');
    await page.waitForFunction(
      // The new run's figures have replaced the last run's once its stats count to 400.
      (sel) =>
        document
          .querySelector('.experiment[data-experiment="moons"] .figure[data-figure="stats"] dd')
          ?.textContent?.endsWith("/ 400") &&
        Number(document.querySelector<HTMLElement>(sel)?.dataset.points ?? 0) >= 20,
      loss,
    );
    const before = await pathPoints(page, loss);
    // The page stays responsive while the worker trains.
    const started = Date.now();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    assert.ok(Date.now() - started < 1000, "an animation frame within a second during training");

    await moons.locator('button[data-action="pause"]').click();
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="paused"]');
    // Let the last batch arrive and draw: wait until two reads 300 ms apart agree.
    let paused = await drawnPoints();
    for (let i = 0; i < 10; i++) {
      await page.waitForTimeout(300);
      const now = await drawnPoints();
      if (now === paused) break;
      paused = now;
    }
    await page.waitForTimeout(800);
    assert.equal(await drawnPoints(), paused, "no new points while paused");
    assert.ok(paused < 800, "paused before the end (400 steps × 2 series)");
    assert.ok((await pathPoints(page, loss)) >= before);

    await moons.locator('button[data-action="pause"]').click(); // now "Resume"
    await page.waitForFunction(
      ([sel, n]) =>
        Number(document.querySelector<HTMLElement>(sel as string)?.dataset.points ?? 0) > (n as number) + 20,
      [loss, paused] as const,
    );
    const resumed = await pathPoints(page, loss);
    assert.ok(resumed > before, `the drawn loss path grew: ${before} → ${resumed} points`);
    await moons.locator('button[data-action="stop"]').click();
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="done"]');
    assert.match((await moons.locator(".status").textContent()) ?? "", /stopped/);

    // The picture for the README: the moons experiment after a full default run.
    await moons.locator('input[name="steps"]').fill("100");
    await moons.locator('input[name="steps"]').dispatchEvent("change");
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLElement>('.experiment[data-experiment="moons"]')?.dataset.state ===
        "running",
    );
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="done"]', {
      timeout: 60_000,
    });
    await page.waitForTimeout(200);
    await moons.screenshot({ path: join(shots, "01-micrograd-moons.png") });
    // Pointing into the decision boundary shows the network's activations for that input.
    const plane = moons.locator('.figure[data-figure="boundary"] .figure-body svg').first();
    const box = (await plane.boundingBox())!;
    const network = moons.locator('.figure[data-figure="mlp"]');
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await network.locator("figcaption", { hasText: "under the pointer" }).waitFor();
    const fillsAt = () =>
      network.locator("circle").evaluateAll((cs) => cs.map((c) => c.getAttribute("fill")).join());
    const here = await fillsAt();
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.8);
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll('.figure[data-figure="mlp"] circle')]
          .map((c) => c.getAttribute("fill"))
          .join() !== before,
      here,
    );
    await page.mouse.move(0, 0);

    // At full speed the run streams about a frame's worth of steps at a time and ends with all of them.
    await moons.locator('select[aria-label="speed"]').selectOption({ label: "full speed" });
    await moons.locator('button[data-action="run"]').click();
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="running"]');
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="done"]', {
      timeout: 60_000,
    });
    assert.equal(await drawnPoints(), 200, "100 steps × (loss, accuracy)");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a run the queue holds just as it finishes ends done, not paused", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    // Hold back every "pause" the page sends a worker until that worker has said "done": the
    // order the queue's hold and a run's end can take under load, forced here.
    await page.addInitScript(() => {
      const state = window as unknown as { delayPauses: boolean; delayedPauses: number };
      state.delayPauses = false;
      state.delayedPauses = 0;
      const Native = window.Worker;
      window.Worker = class extends Native {
        private held: unknown[] = [];
        constructor(url: string | URL, options?: WorkerOptions) {
          super(url, options);
          this.addEventListener("message", (e: MessageEvent) => {
            if ((e.data as { type?: string })?.type !== "done") return;
            for (const message of this.held.splice(0)) Native.prototype.postMessage.call(this, message);
          });
        }
        override postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
          if (state.delayPauses && (message as { type?: string })?.type === "pause") {
            state.delayedPauses++;
            this.held.push(message);
            return;
          }
          super.postMessage(message, transfer as StructuredSerializeOptions);
        }
      };
    });
    await page.goto(`${server.url}#/01-micrograd`);
    const moons = page.locator('.experiment[data-experiment="moons"]');
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="done"]', {
      timeout: 60_000,
    });
    // A longer run, so the neuron's re-run below comes while it computes.
    await moons.locator('input[name="steps"]').fill("400");
    await moons.locator('input[name="steps"]').dispatchEvent("change");
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="running"]');
    await page.evaluate(() => {
      (window as unknown as { delayPauses: boolean }).delayPauses = true;
    });
    // Moving a slider re-runs the neuron at once: the queue holds the moons run until it is done.
    await page
      .locator('.experiment[data-experiment="neuron"] input[type="range"][aria-label="x2"]')
      .fill("1");
    await page.waitForFunction(() => (window as unknown as { delayedPauses: number }).delayedPauses > 0);
    await page.waitForSelector('.experiment[data-experiment="moons"][data-state="done"]', {
      timeout: 120_000,
    });
    // The pause reached the worker after its "done": the run stays done.
    await page.waitForTimeout(500);
    assert.equal(await moons.getAttribute("data-state"), "done");
    assert.match((await moons.locator(".status").textContent()) ?? "", /^done in/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 3: the embedding as neurons and as a table, the letters in 2-D, the learning-rate sweep", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/03-mlp`);
    const mlp = '.experiment[data-experiment="mlp"]';
    // 27 one-hot inputs and 10 embedding neurons; of the 270 weights the strongest are drawn, and
    // the figure says how many and above what |w|.
    const neurons = `${mlp} .figure[data-figure="embedding-neurons"]`;
    await page.waitForSelector(`${neurons} svg circle`);
    assert.equal(await page.locator(`${neurons} svg circle`).count(), 27 + 10);
    const edges = await page.locator(`${neurons} svg line`).count();
    assert.ok(edges >= 27 && edges <= 27 * 10, `${edges} edges`);
    assert.match(
      (await page.locator(neurons).textContent()) ?? "",
      new RegExp(`the ${edges} strongest of 270 weights`),
    );
    await page.waitForSelector(`${mlp} .figure[data-figure="embedding-table"] svg [aria-label="cell"] rect`);
    assert.ok(
      (await page
        .locator(`${mlp} .figure[data-figure="embedding-table"] svg [aria-label="cell"] rect`)
        .count()) >=
        27 * 10,
    );
    // The 2-D embedding: one labelled dot per character, redrawn as training moves them.
    const scatter = '.experiment[data-experiment="embedding-2d"] .figure[data-figure="embedding"]';
    await page.waitForFunction(
      (sel) =>
        document
          .querySelector(sel)
          ?.querySelector("h4")
          ?.textContent?.match(/step [1-9]/),
      scatter,
      { timeout: 60_000 },
    );
    assert.equal(await page.locator(`${scatter} svg [aria-label="dot"] circle`).count(), 27);
    const letters = await page.locator(`${scatter} svg [aria-label="text"] text`).allTextContents();
    assert.ok(
      ["a", "e", "z", "."].every((c) => letters.includes(c)),
      letters.join(""),
    );
    // The learning-rate finder plots loss against the exponent from -3 to 0.
    const lr = '.experiment[data-experiment="lr-finder"] .figure[data-figure="lr"]';
    await page.waitForFunction(
      (sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.points) >= 50,
      lr,
      {
        timeout: 60_000,
      },
    );
    assert.ok((await pathPoints(page, lr)) >= 50);
    await page.evaluate(() => {
      for (const stop of document.querySelectorAll<HTMLButtonElement>('button[data-action="stop"]:enabled'))
        stop.click();
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 6: the layers with their shapes, and the tree of fused pairs", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/06-wavenet`);
    const layers = '.figure[data-figure="layers"] svg g.node';
    await page.waitForSelector(layers);
    // input, Embedding, 3 × (FlattenConsecutive, Linear, BatchNorm1d, Tanh), Linear
    assert.equal(await page.locator(layers).count(), 1 + 1 + 3 * 4 + 1);
    const text = (await page.locator('.figure[data-figure="layers"] svg').textContent()) ?? "";
    for (const shape of ["[4, 8, 24]", "[4, 4, 48]", "[4, 2, 128]", "[4, 256]", "[4, 27]"])
      assert.ok(text.includes(shape), `the layer graph shows ${shape}`);
    // 8 characters, 4 + 2 + 1 fusions, the prediction.
    assert.equal(await page.locator('.figure[data-figure="tree"] svg g.node').count(), 8 + 4 + 2 + 1 + 1);
    await page.locator('button[data-action="stop"]:enabled').first().click();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 7: weighted aggregation, attention per layer and head for a typed prompt", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/07-gpt`);
    const agg = '.experiment[data-experiment="aggregation"]';
    await page.waitForSelector(`${agg}[data-state="done"]`);
    // wei: 8 × 8, lower triangular, each row a uniform average (row 3: four times 0.25).
    assert.equal(
      await page.locator(`${agg} .figure[data-figure="wei"] svg [aria-label="cell"] rect`).count(),
      64,
    );
    const cells = await page
      .locator(`${agg} .figure[data-figure="wei"] svg [aria-label="text"] text`)
      .allTextContents();
    assert.deepEqual(cells.slice(24, 32), ["0.25", "0.25", "0.25", "0.25", "0", "0", "0", "0"]);
    const diffs = await page.locator(`${agg} .figure[data-figure="agree"] dd`).allTextContents();
    for (const d of diffs.slice(1)) assert.ok(Number(d) < 1e-5, `the versions differ by ${d}`);

    // The training run streams its loss; then stop it so the attention run gets the cores.
    const gpt = '.experiment[data-experiment="gpt"]';
    await page.waitForFunction(
      (sel) =>
        Number(document.querySelector<HTMLElement>(`${sel} .figure[data-figure="loss"]`)?.dataset.points) >=
        2,
      gpt,
      { timeout: 60_000 },
    );
    await page.locator(`${gpt} button[data-action="stop"]`).click();

    const attention = '.experiment[data-experiment="attention"]';
    await page.waitForSelector(`${attention}[data-state="done"]`, { timeout: 90_000 });
    await page.locator(`${attention} textarea[name="prompt"]`).fill("To be, or not");
    await page.waitForFunction(
      (sel) =>
        document.querySelector<HTMLElement>(sel)?.dataset.state === "done" &&
        document.querySelector(`${sel} .run-log`)?.textContent?.includes('"To be, or not"'),
      attention,
      { timeout: 90_000 },
    );
    // 2 layers × 4 heads, each 13 × 13 characters.
    const maps = await page.$$eval(`${attention} .figure[data-kind="heatmap"][data-figure^="attn-"]`, (fs) =>
      fs.map((f) => f.querySelectorAll('svg [aria-label="cell"] rect').length),
    );
    assert.deepEqual(maps, Array(8).fill(13 * 13));
    await page.screenshot({ path: join(shots, "07-gpt-attention.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 8: merges step by step on a text, GPT-2 and GPT-4 side by side", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/08-tokenizer`);
    const merges = '.experiment[data-experiment="merges"] .figure[data-figure="merges"]';
    await page.waitForSelector(`${merges} .token`);
    const tokens = () => page.locator(`${merges} .token`).count();
    const bytes = await tokens(); // the first frame: one token per byte
    assert.equal(
      bytes,
      new TextEncoder().encode("Taylor Swift's songs: the tokenizer merges what it has seen most often.")
        .length,
    );
    await page.locator(`${merges} button[data-action="step"]`).click();
    assert.equal(await tokens(), bytes - 1, "the first merge that meets the sample joins one pair");
    await page
      .locator(`${merges} input[type="range"]`)
      .fill((await page.locator(`${merges} input[type="range"]`).getAttribute("max")) ?? "0");
    assert.ok((await tokens()) < bytes * 0.7, "after all merges the sample is much shorter");
    const colours = await page
      .locator(`${merges} .token`)
      .evaluateAll((ts) => new Set(ts.map((t) => (t as HTMLElement).style.background)).size);
    assert.ok(colours >= 10, `tokens are coloured by id (${colours} colours)`);

    const compare = '.experiment[data-experiment="compare"]';
    await page
      .locator(`${compare} textarea[name="text"]`)
      .fill("        if i % 3 == 0:\n            print(i)");
    // The re-run has drawn once both tokenizations show the new text (and only it).
    await page.waitForFunction((sel) => {
      const texts = [...document.querySelectorAll(`${sel} .token-text`)].map((t) => t.textContent);
      return (
        document.querySelector<HTMLElement>(sel)?.dataset.state === "done" &&
        texts.length === 2 &&
        texts.every((t) => t === "        if i % 3 == 0:↵            print(i)")
      );
    }, compare);
    const counts = await page.$$eval(`${compare} .token-sequence`, (list) =>
      list.map((s) => [
        (s as HTMLElement).dataset.name,
        Number((s as HTMLElement).dataset.tokens),
        s.querySelectorAll(".token").length,
      ]),
    );
    assert.equal(counts.length, 2);
    const [gpt2, gpt4] = counts as [string, number, number][];
    assert.match(gpt2[0], /GPT-2/);
    assert.match(gpt4[0], /GPT-4/);
    assert.equal(gpt2[1], gpt2[2]);
    assert.ok(gpt4[1] < gpt2[1], `GPT-4 needs fewer tokens for indented code (${gpt4[1]} < ${gpt2[1]})`);
    await page.screenshot({ path: join(shots, "08-tokenizer-compare.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("lesson 9: choose a safetensors file, generate, draw the position embeddings", async () => {
    await runLesson9(context, server.url, "wasm");
  });

  // A click into every lesson (lesson 9's is in runLesson9): the detail shows the engine's numbers.
  const neuronCases: NeuronCase[] = [
    {
      lesson: "01-micrograd",
      section: "moons",
      experiment: "moons",
      set: { steps: "5", hidden: "4" },
      figure: "mlp",
      target: [2, 1],
      click: 'circle[data-layer="2"][data-neuron="1"]',
    },
    {
      lesson: "02-bigram",
      section: "neural",
      experiment: "neural",
      set: { steps: "2" },
      figure: "neurons",
      target: [1, 1],
      click: 'circle[data-layer="1"][data-neuron="1"]',
    },
    {
      lesson: "03-mlp",
      section: "mlp",
      experiment: "mlp",
      set: { steps: "10", nHidden: "8" },
      figure: "neurons",
      target: [1, 5],
      click: 'circle[data-layer="1"][data-neuron="5"]',
    },
    {
      lesson: "04-activations",
      section: "batchnorm",
      experiment: "batchnorm",
      set: { steps: "10" },
      figure: "neurons",
      target: [1, 7],
      // 200 channels: a strip of cells, the most active drawn as neurons; channel 7 through its cell.
      click: 'rect.strip-cell[data-layer="1"][data-neuron="7"]',
    },
    {
      lesson: "05-backprop-ninja",
      section: "cmp",
      experiment: "cmp",
      set: { nHidden: "16" },
      figure: "neurons",
      target: [1, 3],
      click: 'circle[data-layer="1"][data-neuron="3"]',
    },
    // Row 6 (the top level), channel 3 of 16: rect 6·16 + 3 of the cell mark.
    {
      lesson: "06-wavenet",
      section: "wavenet",
      experiment: "wavenet",
      set: { steps: "10", nHidden: "16" },
      figure: "units",
      target: [6, 3],
      click: '[aria-label="cell"] >> nth=0 >> rect >> nth=99',
    },
    {
      lesson: "07-gpt",
      section: "inside",
      experiment: "inside",
      set: { steps: "2" },
      figure: "mlp-neurons",
      target: [1, 0],
      click: '[aria-label="cell"] >> nth=0 >> rect >> nth=16',
    },
    {
      lesson: "08-tokenizer",
      section: "bpe",
      experiment: "merges",
      set: { corpusChars: "5000", vocabSize: "300" },
      figure: "merges",
      target: [0, 0, 3],
      click: '.token[data-token="3"]',
    },
    {
      lesson: "10-pong",
      section: "train",
      experiment: "train",
      set: { episodes: "2", hidden: "8", batchSize: "1" },
      figure: "weights",
      target: [3],
      click: 'canvas[data-image="3"]',
    },
  ];
  test("every lesson: click a neuron, the panel shows the engine's numbers, formula and code", {
    timeout: 120_000 * neuronCases.length,
  }, async () => {
    for (const c of neuronCases) {
      const expected = engineDetail(c); // the same run in Node, meanwhile
      const page = await context.newPage();
      const errors = watchErrors(page, { failedRequests: true });
      await page.goto(`${server.url}#/${c.lesson}`);
      await page.waitForSelector(`.experiment[data-experiment="${c.experiment}"][data-run]`);
      await stopOthers(page, c.experiment);
      const panel = page.locator(`.experiment[data-experiment="${c.experiment}"]`);
      if ((await panel.getAttribute("data-streaming")) === "true")
        await panel.locator('select[aria-label="speed"]').selectOption({ label: "full speed" });
      await runWith(page, c.experiment, c.set);
      await checkClick(page, c, await expected, 1e-3);
      if (c.lesson === "10-pong")
        await page.screenshot({ path: join(shots, "10-pong-neuron.png"), fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    }
  });

  test("lesson 10: a stopped run still answers clicks on its neurons", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/10-pong`);
    const train = '.experiment[data-experiment="train"]';
    await page.waitForSelector(`${train} .figure[data-figure="weights"] canvas[data-image="199"]`);
    await page.waitForSelector(`${train} .figure[data-figure="game"] canvas`);
    await page.locator(`${train} button[data-action="stop"]`).click();
    await page.waitForSelector(`${train}[data-state="done"]`);
    assert.equal(await page.locator(`${train} .status`).textContent(), "stopped");
    await page.locator(`${train} .figure[data-figure="weights"] canvas[data-image="42"]`).click();
    await page.waitForSelector(
      `${train} .figure[data-kind="detail"][data-of="weights:42"] .code-line.current`,
    );
    assert.equal(
      await page.locator(`${train} .figure[data-kind="detail"] h4`).textContent(),
      "Hidden unit 42",
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the figure gallery draws one figure of every kind", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/_gallery`);
    await page.waitForSelector('.experiment[data-state="done"]');
    await page.waitForTimeout(300);
    const count = (selector: string) => page.locator(selector).count();
    const kinds = await page.$$eval(".figure", (fs) => fs.map((f) => (f as HTMLElement).dataset.kind).sort());
    assert.deepEqual(kinds, [
      "detail",
      "field",
      "graph",
      "heatmap",
      "heatmap",
      "histogram",
      "images",
      "line",
      "network",
      "network",
      "network",
      "network",
      "network",
      "scatter",
      "stats",
      "tokens",
    ]);
    assert.equal(await count(".figure-images canvas"), 3);
    await page.waitForSelector(".figure-detail .code-line.current");
    // The big matrix is one image; the tokens are chips, two tokenizations side by side.
    assert.equal(await count('.figure-heatmap[data-figure="heatmap-image"] svg image'), 1);
    assert.equal(await count(".figure-tokens .token-sequence"), 2);
    assert.equal(await count(".figure-tokens .token"), 18);
    // 27 × 27 cells, the highlighted row outlined, a value printed in each cell.
    assert.equal(await count('.figure-heatmap svg [aria-label="cell"] rect'), 27 * 27 + 27);
    assert.equal(await count('.figure-heatmap svg [aria-label="text"] text'), 27 * 27);
    assert.equal(await count('.figure-scatter svg [aria-label="dot"] circle'), 27);
    assert.equal(await count('.figure-histogram svg [aria-label="line"] path'), 3);
    assert.ok((await count(".figure-graph svg g.node")) >= 5);
    assert.equal(
      await page.locator(".figure-graph .graph-controls").isVisible(),
      false,
      "one frame: no step controls",
    );
    await page.screenshot({ path: join(shots, "_gallery.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("nothing was fetched from outside the lab's server (no CDN)", () => {
    assert.deepEqual(outside, []);
  });
});

// Chromium's WebGPU on SwiftShader (a CPU adapter, no GPU needed): an experiment that reads only
// with await runs there, the others stay on wasm.
describe("the lab on WebGPU in Chromium", { skip, timeout: 600_000 }, () => {
  let server: LabServer;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ server, context, close } = await openLab(SWIFTSHADER_WEBGPU));
  });

  after(async () => {
    await close?.();
  });

  test("lesson 9 loads GPT-2, generates and draws wpe on webgpu", async () => {
    await runLesson9(context, server.url, "webgpu");
  });

  test("lesson 7 trains its character GPT on webgpu", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page, { failedRequests: true });
    await page.goto(`${server.url}#/07-gpt`);
    const gpt = '.experiment[data-experiment="gpt"]';
    // SwiftShader compiles each new pipeline on the CPU while the page's wasm experiments run
    // beside it: the first five steps can take a while on 2 busy cores.
    await page.waitForFunction(
      (sel) =>
        Number(document.querySelector<HTMLElement>(`${sel} .figure[data-figure="loss"]`)?.dataset.points) >=
        2,
      gpt,
      { timeout: 240_000 },
    );
    const engine = (await page.locator(`${gpt} .backend`).textContent()) ?? "";
    assert.equal(await page.locator(gpt).getAttribute("data-backend"), "webgpu", engine);
    const loss = await page.locator(`${gpt} .figure[data-figure="stats"] dd`).nth(1).textContent();
    assert.ok(Number(loss) > 0 && Number(loss) < 10, `a finite loss (${loss})`);
    await page.locator(`${gpt} button[data-action="stop"]`).click();
    await page.screenshot({ path: join(shots, "07-gpt-webgpu.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
