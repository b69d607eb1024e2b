#!/usr/bin/env node
// Renders the kernel spec (src/backend/spec: the ABI and the op table) into the files of the
// targets that cannot import TypeScript (see renderAll in src/backend/spec/render.ts). It compiles
// the spec with the project's tsc into a temporary folder first. Files are rewritten only when
// their text changes. The outputs are committed, so a clone builds without this step (the native
// build at `npm install` has no TypeScript); test/spec.test.ts fails when they are stale.
// Usage: node scripts/gen-spec.mjs [--check]   (--check: exit 1 naming the stale files)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const specDir = join(root, "src/backend/spec");

/** The rendered files, by path from the repository root. */
export async function renderSpec() {
  const out = mkdtempSync(join(tmpdir(), "herograd-spec-"));
  try {
    const pkg = createRequire(join(root, "package.json")).resolve("typescript/package.json");
    const tsc = join(dirname(pkg), "bin/tsc");
    const files = readdirSync(specDir)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(specDir, f));
    const args = [
      tsc,
      "--ignoreConfig",
      "--outDir",
      out,
      "--rootDir",
      specDir,
      "--target",
      "es2022",
      "--module",
      "nodenext",
    ];
    args.push("--moduleResolution", "nodenext", "--skipLibCheck", "--strict", "--types", "", ...files);
    const result = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`gen-spec: tsc failed\n${result.stdout}${result.stderr}`);
    writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
    const { renderAll } = await import(pathToFileURL(join(out, "render.js")).href);
    return renderAll();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function current(path) {
  try {
    return readFileSync(join(root, path), "utf8");
  } catch {
    return null;
  }
}

/** Write the files whose text changed; returns their paths. */
export async function generateSpec() {
  const changed = [];
  for (const [path, text] of Object.entries(await renderSpec())) {
    if (current(path) === text) continue;
    writeFileSync(join(root, path), text);
    changed.push(path);
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--check")) {
    const stale = Object.entries(await renderSpec())
      .filter(([path, text]) => current(path) !== text)
      .map(([path]) => path);
    if (stale.length > 0) {
      console.error(`gen-spec: stale (run node scripts/gen-spec.mjs): ${stale.join(", ")}`);
      process.exit(1);
    }
  } else {
    for (const path of await generateSpec()) console.log(`gen-spec: wrote ${path}`);
  }
}
