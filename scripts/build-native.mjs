#!/usr/bin/env node
// Builds native/ (the AVX-512/AVX2 matmul and attention kernels the wasm backend calls in Node) with
// node-gyp, as `npm install` runs it. A failed build never fails the install: herograd then runs
// its kernels in wasm, and says so (`hero --version`). HERO_NATIVE=0 skips the build.
// Usage: node scripts/build-native.mjs [DIR]   (DIR: a copy of native/ to build instead; tests)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = process.argv[2] ?? join(root, "native");
const say = (message) => console.log(`herograd native: ${message}`);

function nodeGyp() {
  // npm tells its scripts where its own node-gyp is; otherwise look beside npm, then on PATH.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp))
    return [process.execPath, process.env.npm_config_node_gyp];
  try {
    const require = createRequire(join(dirname(process.execPath), "../lib/node_modules/npm/package.json"));
    return [process.execPath, require.resolve("node-gyp/bin/node-gyp.js")];
  } catch {
    return ["node-gyp"];
  }
}

/** In a clone with its dev dependencies, render native/src/abi.h from the kernel spec first (a package ships it rendered). */
async function renderSpec() {
  if (dir !== join(root, "native") || !existsSync(join(root, "scripts/gen-spec.mjs"))) return;
  if (!existsSync(join(root, "node_modules/typescript"))) return;
  try {
    const { generateSpec } = await import("./gen-spec.mjs");
    for (const path of await generateSpec()) say(`wrote ${path}`);
  } catch (error) {
    say(
      `could not render the kernel spec (${error.message.split("\n")[0]}); building with the committed native/src/abi.h`,
    );
  }
}

function build() {
  if (process.env.HERO_NATIVE === "0") return say("skipped (HERO_NATIVE=0); the wasm kernels will run");
  if (process.arch !== "x64") return say(`no native kernels for ${process.arch}; the wasm kernels will run`);
  const [command, ...gyp] = nodeGyp();
  const args = [...gyp, "rebuild"];
  // Node's headers: where npm is configured with them, else beside this node when its package
  // installed them (Debian's nodejs: /usr/include/node), else node-gyp downloads them.
  const prefix = join(dirname(process.execPath), "..");
  const nodedir =
    process.env.npm_config_nodedir ?? (existsSync(join(prefix, "include/node/common.gypi")) ? prefix : null);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: dir, encoding: "utf8", timeout: 300_000 });
  if (result.status === 0) {
    return say(`built native/build/Release/herograd.node in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  say(`the build failed (${why}); herograd will run its kernels in wasm.\n${output}`);
}

await renderSpec();
build();
