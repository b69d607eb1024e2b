/**
 * The README's nn/optim loop without tidy in Chromium on webgpu (SwiftShader, no GPU needed; where
 * Chromium runs it is expected, as in webgpu-browser.test.ts): after the check step and at the end,
 * once collected, every live GPU buffer is one the page still references (pages:
 * memory-browser-page.ts).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { launchChromium, noChromium, SWIFTSHADER_WEBGPU } from "./browser.js";
import { runPage, serve, WEBGPU_STEPS } from "./memory-browser-page.js";

test(`webgpu in Chromium: ${WEBGPU_STEPS} steps without tidy, every live buffer one the page references`, {
  skip: noChromium,
  timeout: 240_000,
}, async (t) => {
  const server = serve();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // --expose-gc: the page collects before it counts.
  const { context, close } = await launchChromium([...SWIFTSHADER_WEBGPU, "--js-flags=--expose-gc"]);
  try {
    const r = await runPage(context, `${origin}/webgpu/page.html`, t);
    assert.equal(r.backend, "webgpu");
    assert.equal(r.at1k.buffers, r.at1k.referenced, JSON.stringify(r));
    assert.equal(r.atEnd.buffers, r.atEnd.referenced, JSON.stringify(r));
  } finally {
    await close();
    await new Promise((resolve) => server.close(resolve));
  }
});
