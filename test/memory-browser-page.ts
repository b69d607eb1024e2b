/**
 * The pages of memory-auto-browser*.test.ts: the README's nn/optim loop without tidy in real
 * Chromium (dist/ loaded as ES modules), and the checks every page's result must pass: live
 * tensors and bytes at the end are those at the check step (docs/MEMORY.md), and a tensor held
 * from step 10 keeps its values.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, normalize } from "node:path";
import type { TestContext } from "node:test";
import type { BrowserContext } from "playwright-core";
import { repoRoot } from "./helpers.js";

const dist = join(repoRoot, "dist");
export const STEPS = 5_000;
/**
 * SwiftShader's WebGPU takes 20 to 100 ms a step on a loaded machine: fewer steps, measured from
 * step 200 (what makes the webgpu check strong is that every live buffer is accounted for).
 */
export const WEBGPU_STEPS = 400;
export const WEBGPU_CHECK_AT = 200;

/**
 * The README loop, as a page (serve() serves it as /<mode>/page.html). wasm: reads with item()
 * each step; "isolated" pages (COOP/COEP) get shared memory and start the kernels' worker threads
 * first. webgpu (SwiftShader): reads awaited every 100 steps, and before each measurement the page
 * collects (Chromium runs with --expose-gc) until every live buffer is one the page references.
 */
export function page(mode: "isolated" | "plain" | "webgpu"): string {
  const steps = mode === "webgpu" ? WEBGPU_STEPS : STEPS;
  const checkAt = mode === "webgpu" ? WEBGPU_CHECK_AT : 1000;
  return `<!doctype html><meta charset="utf-8"><script type="module">
import "./src/backend/select.js";
import * as T from "./src/tensor/index.js";
import * as nn from "./src/nn/index.js";
import { AdamW } from "./src/optim/index.js";
import { createWebGpuBackend } from "./src/backend/webgpu/index.js";
const started = performance.now();
try {
  T.setSpillThreshold(256 * 1024);
  const mode = "${mode}";
  if (mode === "webgpu") {
    const gpu = navigator.gpu ? await createWebGpuBackend(navigator.gpu) : null;
    if (!gpu) throw new Error(navigator.gpu ? "no WebGPU adapter" : "no navigator.gpu");
    T.registerBackend("webgpu", () => gpu);
    T.setBackend("webgpu");
  }
  const backend = T.currentBackendName();
  const wasm = backend === "wasm" ? T.getBackend("wasm") : null;
  if (mode === "isolated") await wasm.startThreads();
  const g = new T.Random(1);
  const X = T.randn([32, 2], { generator: g });
  const Y = T.cast(X.index(":", 0).mul(X.index(":", 1)).gt(0), "int32");
  const model = new nn.Sequential(new nn.Linear(2, 8, { generator: g }), new nn.Tanh(), new nn.Linear(8, 2, { generator: g }));
  const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
  const read = async (t) => Array.from(await t.data());
  let held = null;
  const referenced = () => {
    const params = model.parameters();
    const state = Object.values(optimizer.stateDict().state).flatMap((s) => Object.values(s));
    const tensors = [X, Y, held?.logits, ...params, ...params.map((p) => p.grad), ...state];
    return new Set(tensors.filter((t) => t).map((t) => t.storage)).size;
  };
  const live = async () => {
    T.spillTemporaries();
    if (mode === "webgpu") {
      const expected = referenced();
      for (let round = 0; round < 20 && T.memoryStats()[backend].buffers !== expected; round++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    const { buffers, bytes } = T.memoryStats()[backend];
    return { buffers, bytes, referenced: mode === "webgpu" ? referenced() : null };
  };
  // One step as the README writes it (in a function of its own, so that the page's async frame
  // holds none of its tensors when memory is counted).
  const step = (n) => {
    const logits = model.forward(X);
    const loss = T.crossEntropy(logits, Y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    if (n === 10) held = { logits, values: read(logits) };
    const accuracy = logits.argmax(1).eq(Y).float().mean();
    if (wasm) return accuracy.item();
    return n % 100 === 0 || n === ${steps} ? read(accuracy).then((a) => a[0]) : null;
  };
  let at1k;
  let accuracy;
  const loopStarted = performance.now();
  for (let n = 1; n <= ${steps}; n++) {
    const a = step(n);
    if (a !== null) accuracy = await a;
    if (n === ${checkAt}) at1k = await live();
  }
  const atEnd = await live();
  const same = JSON.stringify(await read(held.logits)) === JSON.stringify(await held.values);
  window.result = {
    backend,
    variant: wasm?.variant ?? null,
    threads: wasm?.threadStats() ?? null,
    adapter: wasm ? null : T.getBackend(backend).description,
    at1k,
    atEnd,
    accuracy,
    same,
    spills: T.spillMemoryStats().spills,
    setupMs: Math.round(loopStarted - started),
    loopMs: Math.round(performance.now() - loopStarted),
  };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;
}

export function serve(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const [, mode, ...rest] = url.pathname.split("/");
    if (mode !== "isolated" && mode !== "plain" && mode !== "webgpu") {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {};
    if (mode === "isolated") {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    }
    const path = rest.join("/");
    if (path === "page.html") {
      res.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(page(mode));
      return;
    }
    const file = normalize(join(dist, path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".js") ? "text/javascript" : "application/octet-stream";
    res.writeHead(200, { ...headers, "Content-Type": type }).end(readFileSync(file));
  });
}

interface Live {
  buffers: number;
  bytes: number;
  referenced: number | null;
}

export interface PageResult {
  error?: string;
  backend: string;
  variant: string | null;
  threads: { threads: number; workersReady: number } | null;
  adapter: string | null;
  at1k: Live;
  atEnd: Live;
  accuracy: number;
  same: boolean;
  spills: number;
}

export async function runPage(context: BrowserContext, url: string, t: TestContext): Promise<PageResult> {
  const tab = await context.newPage();
  const errors: string[] = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  await tab.goto(url);
  await tab.waitForFunction(() => (window as { result?: unknown }).result !== undefined, null, {
    timeout: 200_000,
  });
  const r = await tab.evaluate(() => (window as unknown as { result: PageResult }).result);
  await tab.close();
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(errors, []);
  assert.ok(r.atEnd.buffers <= r.at1k.buffers * 1.1, JSON.stringify(r));
  assert.ok(r.atEnd.bytes <= r.at1k.bytes * 1.1, JSON.stringify(r));
  assert.ok(r.same, "the logits held from step 10 kept their values");
  assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy}`);
  return r;
}
