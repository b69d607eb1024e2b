/**
 * The wasm backend in real Chromium (Debian's, driven by playwright-core), loaded straight from
 * dist/ as ES modules. Under cross-origin isolation (COOP/COEP headers) it runs on shared memory
 * with Web Workers and a big matmul really splits across them; without isolation it falls back
 * to one thread and still computes the same product.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext } from "playwright-core";
import { launchChromium, noChromium } from "./browser.js";
import { repoRoot } from "./helpers.js";

const dist = join(repoRoot, "dist");

/** Runs in the page: a [M, K] @ [K, N] product on the wasm backend, checked against plain JS. */
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { WasmBackend } from "./src/backend/wasm/index.js";
try {
  const backend = new WasmBackend({ threads: 2 });
  const running = await backend.startThreads(20000);
  const [M, K, N] = [192, 160, 224];
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const a = Float32Array.from({ length: M * K }, rand);
  const b = Float32Array.from({ length: K * N }, rand);
  const view = (data, rows, cols) => {
    const storage = backend.alloc("float32", rows * cols);
    if (data) backend.write(storage, data);
    return { storage, shape: [rows, cols], strides: [cols, 1], offset: 0 };
  };
  const out = view(null, M, N);
  const [av, bv] = [view(a, M, K), view(b, K, N)];
  // A worker that is slow to wake has its share taken back: repeat until one ran a share.
  for (let i = 0; i < 50; i++) {
    backend.run("matmul", { a: av, b: bv, out });
    if (backend.threadStats().workerJobs > 0) break;
  }
  const c = backend.readSync(out.storage);
  let worst = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      worst = Math.max(worst, Math.abs(c[i * N + j] - s) / (1 + Math.abs(s)));
    }
  window.result = { isolated: crossOriginIsolated, variant: backend.variant, running, worst, ...backend.threadStats() };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".html": "text/html",
  ".map": "application/json",
};

/** /isolated/... and /plain/...: the page or a file under dist/, with COOP/COEP on the first only. */
function serve(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const [, mode, ...rest] = url.pathname.split("/");
    if (mode !== "isolated" && mode !== "plain") {
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
      res.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
      return;
    }
    const file = normalize(join(dist, path));
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[extname(file)] ?? "application/octet-stream";
    res.writeHead(200, { ...headers, "Content-Type": type }).end(readFileSync(file));
  });
}

interface PageResult {
  error?: string;
  isolated: boolean;
  variant: string;
  running: number;
  worst: number;
  threads: number;
  workersReady: number;
  workerJobs: number;
}

describe("the wasm backend in Chromium", { skip: noChromium, timeout: 120_000 }, () => {
  let server: Server;
  let origin: string;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    server = serve();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ({ context, close } = await launchChromium(["--disable-gpu"]));
  });

  after(async () => {
    await close?.();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function run(mode: "isolated" | "plain"): Promise<PageResult> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/${mode}/page.html`);
    await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, null, {
      timeout: 60_000,
    });
    const result = await page.evaluate(() => (window as unknown as { result: PageResult }).result);
    await page.close();
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(errors, []);
    return result;
  }

  test("cross-origin isolated: shared memory, a worker, and the matmul split across both threads", async (t) => {
    const r = await run("isolated");
    t.diagnostic(JSON.stringify(r));
    assert.equal(r.isolated, true);
    assert.match(r.variant, /Shared$/);
    assert.equal(r.running, 2, "the worker started");
    assert.equal(r.workersReady, 1);
    assert.ok(r.workerJobs >= 1, `the worker ran a share of the matmul (${r.workerJobs})`);
    assert.ok(r.worst < 1e-5, `matches plain JS (worst relative error ${r.worst})`);
  });

  test("without isolation: no shared memory, one thread, the same product", async (t) => {
    const r = await run("plain");
    t.diagnostic(JSON.stringify(r));
    assert.equal(r.isolated, false);
    assert.doesNotMatch(r.variant, /Shared$/);
    assert.equal(r.threads, 1);
    assert.equal(r.running, 1);
    assert.equal(r.workerJobs, 0);
    assert.ok(r.worst < 1e-5, `matches plain JS (worst relative error ${r.worst})`);
  });
});
