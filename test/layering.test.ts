/**
 * The layers' imports (issue 26): the tensor package imports no backend, directly or through the
 * registry; backend selection lives at the package's entries (src/backend/select.ts), and every
 * entry of a layer that computes with tensors loads it. Read from the TypeScript sources.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { hasBackend } from "../src/backend/index.js";
import { defaultBackendName } from "../src/backend/select.js";
import { zeros } from "../src/tensor/index.js";
import { repoRoot } from "./helpers.js";

const src = join(repoRoot, "src");
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The relative imports of a source file (static, side-effect and dynamic), as resolved .ts paths. */
function importsOf(file: string): string[] {
  const out: string[] = [];
  for (const m of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
    const specifier = m[1] ?? m[2] ?? m[3]!;
    if (!specifier.startsWith(".")) continue;
    const path = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
    if (existsSync(path)) out.push(path);
  }
  return out;
}

/** Every source file reachable from `file` by imports, with the chain that first reached it. */
function reachable(file: string): Map<string, string[]> {
  const chains = new Map([[file, [file]]]);
  const stack = [file];
  while (stack.length > 0) {
    const from = stack.pop()!;
    for (const to of importsOf(from)) {
      if (chains.has(to)) continue;
      chains.set(to, [...chains.get(from)!, to]);
      stack.push(to);
    }
  }
  return chains;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const rel = (path: string) => relative(repoRoot, path);
/** The backends' folders (js, wasm, webgpu, ...): every folder of src/backend but the shared spec. */
const backendDirs = readdirSync(join(src, "backend"))
  .filter((name) => name !== "spec" && statSync(join(src, "backend", name)).isDirectory())
  .map((name) => join(src, "backend", name));
const inBackend = (path: string) => backendDirs.some((dir) => path.startsWith(`${dir}/`));

test("the scan sees the backends and the imports it is meant to forbid", () => {
  assert.deepEqual(backendDirs.map(rel).sort(), ["src/backend/js", "src/backend/wasm", "src/backend/webgpu"]);
  const select = reachable(join(src, "backend", "select.ts"));
  assert.ok(select.has(join(src, "backend", "js", "index.ts")), "select.ts registers js");
  assert.ok(select.has(join(src, "backend", "wasm", "index.ts")), "select.ts registers wasm");
});

test("no file of src/tensor imports a backend (js, wasm, webgpu)", () => {
  const files = sourceFiles(join(src, "tensor"));
  assert.ok(files.length > 10, `${files.length} files in src/tensor`);
  const bad = files.flatMap((file) =>
    importsOf(file)
      .filter(inBackend)
      .map((to) => `${rel(file)} imports ${rel(to)}`),
  );
  assert.deepEqual(bad, []);
});

test("nor does anything the tensor package imports, the backend registry included", () => {
  const chains = reachable(join(src, "tensor", "index.ts"));
  assert.ok(chains.has(join(src, "backend", "index.ts")), "the tensor package uses the registry");
  const bad = [...chains].filter(([to]) => inBackend(to)).map(([, chain]) => chain.map(rel).join(" → "));
  assert.deepEqual(bad, []);
});

test("every entry of a layer that computes with tensors selects the backends", () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  const tensorIndex = join(src, "tensor", "index.ts");
  const select = join(src, "backend", "select.ts");
  const source = (target: string) =>
    join(repoRoot, target.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts"));
  assert.ok(
    reachable(source(pkg.exports["."]!)).has(select),
    `"herograd" (${pkg.exports["."]}) loads select.ts`,
  );
  const layers = readdirSync(src).filter((name) => existsSync(join(src, name, "index.ts")));
  for (const layer of layers) {
    if (!reachable(join(src, layer, "index.ts")).has(tensorIndex)) continue;
    const target = pkg.exports[`./${layer}`] ?? pkg.exports["./*"]!.replace("*", layer);
    assert.ok(
      reachable(source(target)).has(select),
      `"herograd/${layer}" (${target}) computes with tensors but does not load src/backend/select.ts: add src/entries/${layer}.ts and its line in package.json's exports`,
    );
  }
  const cli = reachable(join(src, "cli", "main.ts"));
  assert.ok(cli.has(select), "the CLI's entry loads select.ts");
});

test("an entry chose the default backend; the tensor package alone says what to import", () => {
  // HERO_BACKEND=webgpu names a backend registered later, by whoever sets it up.
  const chosen = defaultBackendName();
  if (hasBackend(chosen)) assert.equal(zeros([2]).backend.name, chosen);
  const tensorOnly = new URL("../src/tensor/index.js", import.meta.url).href;
  const child = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", `const T = await import(${JSON.stringify(tensorOnly)}); T.zeros([2]);`],
    { encoding: "utf8" },
  );
  assert.notEqual(child.status, 0);
  assert.match(
    child.stderr,
    /no tensor backend is registered: import herograd's entry \("herograd", "herograd\/tensor"/,
  );
});
