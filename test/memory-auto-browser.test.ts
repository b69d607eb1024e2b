/**
 * The README's nn/optim loop without tidy in Chromium on the wasm backend, with shared memory and
 * worker threads, and without shared memory (pages: memory-browser-page.ts; webgpu:
 * memory-auto-browser-webgpu.test.ts).
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { BrowserContext } from "playwright-core";
import { launchChromium, noChromium } from "./browser.js";
import { runPage, STEPS, serve } from "./memory-browser-page.js";

describe("a training loop without tidy in Chromium, on wasm", { skip: noChromium, timeout: 240_000 }, () => {
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

  test(`on shared memory, with its worker threads running: ${STEPS} steps in flat memory`, async (t) => {
    const r = await runPage(context, `${origin}/isolated/page.html`, t);
    assert.equal(r.backend, "wasm");
    assert.match(r.variant ?? "", /Shared$/);
    assert.ok(r.threads!.threads >= 2, JSON.stringify(r.threads));
    assert.equal(r.threads!.workersReady, r.threads!.threads - 1, JSON.stringify(r.threads));
    assert.ok(r.spills >= 5, `spilled ${r.spills} times`);
  });

  test(`without shared memory (one thread): ${STEPS} steps in flat memory`, async (t) => {
    const r = await runPage(context, `${origin}/plain/page.html`, t);
    assert.equal(r.backend, "wasm");
    assert.doesNotMatch(r.variant ?? "", /Shared$/);
    assert.equal(r.threads!.threads, 1);
    assert.ok(r.spills >= 5, `spilled ${r.spills} times`);
  });
});
