/**
 * The webgpu backend in a browser: Chromium's navigator.gpu (SwiftShader, no GPU needed) runs the
 * same modules the Node tests run, loaded straight from dist/ with no Node imports on the path,
 * and passes ops.json there.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { after, before, test } from "node:test";
import type { BrowserContext } from "playwright-core";
import { launchChromium, noChromium, SWIFTSHADER_WEBGPU } from "./browser.js";
import { fixture, opsFixtureCases, repoRoot } from "./helpers.js";

const skip = noChromium;

let server: Server;
let browser: BrowserContext;
let closeBrowser: (() => Promise<void>) | undefined;
let origin: string;

before(async () => {
  if (skip) return;
  const dist = join(repoRoot, "dist");
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const file = path === "/ops.json" ? fixture("ops.json") : normalize(join(dist, path));
    if (!file.startsWith(dist) && path !== "/ops.json") return void res.writeHead(403).end();
    if (!existsSync(file) || statSync(file).isDirectory()) return void res.writeHead(404).end();
    const type = file.endsWith(".js")
      ? "text/javascript"
      : file.endsWith(".json")
        ? "application/json"
        : "text/plain";
    res.writeHead(200, { "content-type": type }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ({ context: browser, close: closeBrowser } = await launchChromium(SWIFTSHADER_WEBGPU));
});

after(async () => {
  await closeBrowser?.();
  server?.close();
});

test("navigator.gpu: createWebGpuBackend runs ops.json in Chromium", { skip, timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${origin}/src/tensor/index.js`);
  const result = await page.evaluate(async () => {
    // Paths are the server's (dist/); the page imports them as any web app would.
    const webgpu = "/src/backend/webgpu/index.js";
    const select = "/src/backend/select.js";
    const tensor = "/src/tensor/index.js";
    const selftest = "/src/selftest/index.js";
    const { createWebGpuBackend } = await import(webgpu);
    await import(select);
    const T = await import(tensor);
    const { runOpsFixtures } = await import(selftest);
    if (!navigator.gpu) return { error: "no navigator.gpu" };
    const backend = await createWebGpuBackend(navigator.gpu);
    if (!backend) return { error: "no adapter" };
    T.registerBackend("webgpu", () => backend);
    const file = await (await fetch("/ops.json")).json();
    const report = await runOpsFixtures(file, { backend: "webgpu" });
    return {
      adapter: backend.description as string,
      passed: report.passed as number,
      failures: (report.results as { passed: boolean; name: string; problems: string[] }[])
        .filter((r) => !r.passed)
        .map((r) => `${r.name}: ${r.problems.join("; ")}`),
    };
  });
  await page.close();
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(result.failures, []);
  assert.equal(result.passed, opsFixtureCases(), `on ${result.adapter}`);
});

test("navigator.gpu: lane kernels with subgroup reductions (where the adapter has them) match js", {
  skip,
  timeout: 120_000,
}, async () => {
  const page = await browser.newPage();
  await page.goto(`${origin}/src/tensor/index.js`);
  const result = await page.evaluate(async () => {
    const webgpu = "/src/backend/webgpu/index.js";
    const select = "/src/backend/select.js";
    const tensor = "/src/tensor/index.js";
    const lanes = "/test/webgpu-lane-cases.js";
    const { createWebGpuBackend } = await import(webgpu);
    await import(select);
    const T = await import(tensor);
    const { checkLaneKernels } = await import(lanes);
    const adapter = await navigator.gpu?.requestAdapter();
    const backend = await createWebGpuBackend(navigator.gpu);
    if (!adapter || !backend) return { error: "no adapter" };
    T.registerBackend("webgpu", () => backend);
    return {
      adapterHasSubgroups: adapter.features.has("subgroups"),
      subgroups: backend.device.subgroups as number,
      failures: (await checkLaneKernels(T, "webgpu")) as string[],
    };
  });
  await page.close();
  assert.equal(result.error, undefined, result.error);
  assert.equal(
    result.subgroups! > 0,
    result.adapterHasSubgroups,
    "subgroups are used where the adapter has them",
  );
  assert.deepEqual(result.failures, []);
});
