/**
 * The package a user installs: `npm pack` of the built tree, installed into an empty folder from the
 * tarball (its dependencies from the npm registry), runs the README's commands there.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot, withoutDataDir } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "hero-package-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = withoutDataDir()) {
  const res = spawnSync(command, args, { cwd, encoding: "utf8", env, timeout: 240_000 });
  assert.equal(res.status, 0, `${command} ${args.join(" ")}\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

test("npm pack, installed in an empty folder: hero --version, a lesson with its code lines, bench, lab", {
  timeout: 600_000,
}, async () => {
  assert.ok(existsSync(join(repoRoot, "dist", "lab", "index.html")), "build first: npm run build");
  // The tree is built (npm test builds before it tests): pack it as it is.
  const packed = JSON.parse(
    run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], repoRoot),
  ) as { filename: string; files: { path: string }[] }[];
  const paths = new Set(packed[0]!.files.map((f) => f.path));
  for (const file of [
    "LICENSE",
    "data/names.txt",
    "data/SOURCES.md",
    "dist/lab/index.html",
    "src/micrograd/nn.ts",
  ])
    assert.ok(paths.has(file), `the package carries ${file}`);
  assert.ok(![...paths].some((p) => p.startsWith("test/") || p.startsWith("dist/test/")), "no tests");

  const project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), '{ "name": "empty", "private": true }\n');
  // HOME: no cache of data sets; no native build and no webgpu (optional): the commands need neither.
  const env = withoutDataDir({
    HOME: join(dir, "home"),
    HERO_NATIVE: "0",
    npm_config_cache: join(dir, "npm"),
  });
  // The default backend, as a user without HERO_BACKEND gets it.
  delete env.HERO_BACKEND;
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--omit=optional", join(dir, packed[0]!.filename)],
    project,
    env,
  );
  const hero = join(project, "node_modules", ".bin", "hero");

  assert.match(run(hero, ["--version"], project, env), /^0\.\d+\.\d+\nCPU backend: wasm \(kernels: wasm /);
  const lesson = run(hero, ["lesson", "run", "1", "moons", "--select", "mlp:2,3"], project, env);
  assert.match(lesson, /Layer 2, neuron 3/);
  assert.match(lesson, /src\/micrograd\/nn\.ts .*line \d+: /);
  const benches = run(hero, ["bench"], project, env).trim().split("\n");
  assert.ok(
    benches.includes("micrograd-moons") && benches.includes("reproduce-makemore"),
    benches.join(", "),
  );

  // The library from the installed package: its entry, and a model from its models entry.
  const imported = run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      [
        'const { tensor, nn, models } = await import("herograd");',
        'const { GPT } = await import("herograd/models");',
        "const y = new nn.Linear(3, 2).forward(tensor.randn([4, 3]));",
        "console.log(y.shape.join('x'), GPT === models.GPT, y.backend.name);",
      ].join(" "),
    ],
    project,
    env,
  );
  // The entry selected the backend (the tensor package imports none): wasm, as the CLI's.
  assert.equal(imported.trim(), "4x2 true wasm");
  // The README's form: a layer's own entry selects it too, and a new program gets the CPU.
  const tensorOnly = run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'const T = await import("herograd/tensor"); console.log(T.currentBackendName(), T.ones([2]).sum().item());',
    ],
    project,
    env,
  );
  assert.equal(tensorOnly.trim(), "wasm 2");

  // The lab serves its shipped build and the shipped data, with nothing to build.
  // One process (no re-run with V8 flags), so that killing it stops the server.
  const lab = spawn(hero, ["lab", "--port", "0"], {
    cwd: project,
    env: { ...env, HERO_NO_RESPAWN: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      lab.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /herograd lab: (http:\S+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      lab.on("exit", (code) => reject(new Error(`hero lab exited with ${code}: ${out}`)));
    });
    assert.equal((await fetch(url)).status, 200);
    const names = await fetch(`${url}data/names.txt`);
    assert.equal(names.status, 200);
    assert.equal(await names.text(), readFileSync(join(repoRoot, "data", "names.txt"), "utf8"));
  } finally {
    lab.kill("SIGTERM");
  }
});
