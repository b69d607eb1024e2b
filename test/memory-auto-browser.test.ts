/**
 * The README's nn/optim loop without tidy in real Chromium (dist/ loaded as ES modules), on the
 * wasm backend with and without shared memory: live tensors and bytes after 5,000 steps are those
 * after 1,000 (docs/MEMORY.md), and a tensor held from step 10 keeps its values.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext } from "playwright-core";
import { launchChromium, noChromium } from "./browser.js";
import { repoRoot } from "./helpers.js";

const dist = join(repoRoot, "dist");
const STEPS = 5_000;

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as T from "./src/tensor/index.js";
import * as nn from "./src/nn/index.js";
import { AdamW } from "./src/optim/index.js";
try {
  T.setSpillThreshold(256 * 1024);
  const backend = T.currentBackendName();
  const g = new T.Random(1);
  const X = T.randn([32, 2], { generator: g });
  const Y = T.cast(X.index(":", 0).mul(X.index(":", 1)).gt(0), "int32");
  const model = new nn.Sequential(new nn.Linear(2, 8, { generator: g }), new nn.Tanh(), new nn.Linear(8, 2, { generator: g }));
  const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
  const live = () => {
    T.spillTemporaries();
    const { buffers, bytes } = T.memoryStats()[backend];
    return { buffers, bytes };
  };
  let at1k, held, heldValues, accuracy;
  for (let step = 1; step <= ${STEPS}; step++) {
    const logits = model.forward(X);
    const loss = T.crossEntropy(logits, Y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    accuracy = logits.argmax(1).eq(Y).float().mean().item();
    if (step === 10) [held, heldValues] = [logits, Array.from(logits.dataSync())];
    if (step === 1000) at1k = live();
  }
  const same = JSON.stringify(Array.from(held.dataSync())) === JSON.stringify(heldValues);
  window.result = { backend, at1k, atEnd: live(), accuracy, same, spills: T.spillMemoryStats().spills };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;

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
}

interface PageResult {
  error?: string;
  backend: string;
  at1k: Live;
  atEnd: Live;
  accuracy: number;
  same: boolean;
  spills: number;
}

describe("a training loop without tidy in Chromium", { skip: noChromium, timeout: 240_000 }, () => {
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

  for (const mode of ["isolated", "plain"] as const) {
    test(`wasm ${mode === "isolated" ? "on shared memory" : "without shared memory"}: ${STEPS} steps in flat memory`, async (t) => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${origin}/${mode}/page.html`);
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, null, {
        timeout: 200_000,
      });
      const r = await page.evaluate(() => (window as unknown as { result: PageResult }).result);
      await page.close();
      t.diagnostic(JSON.stringify(r));
      assert.equal(r.error, undefined, r.error);
      assert.deepEqual(errors, []);
      assert.equal(r.backend, "wasm");
      assert.ok(r.spills > 10, `spilled ${r.spills} times`);
      assert.ok(r.atEnd.buffers <= r.at1k.buffers * 1.1, JSON.stringify(r));
      assert.ok(r.atEnd.bytes <= r.at1k.bytes * 1.1, JSON.stringify(r));
      assert.ok(r.same, "the logits held from step 10 kept their values");
      assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy}`);
    });
  }
});
