import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "./helpers.js";

const hero = join(repoRoot, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "hero-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]) {
  const res = spawnSync(process.execPath, [hero, ...args], { encoding: "utf8", cwd: work });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test("hero --help lists the commands, and every command has --help", () => {
  const top = run("--help");
  assert.equal(top.status, 0);
  for (const command of ["micrograd", "selftest", "bench"]) assert.match(top.stdout, new RegExp(command));
  for (const args of [
    ["micrograd", "--help"],
    ["micrograd", "demo", "--help"],
    ["micrograd", "graph", "--help"],
  ]) {
    const res = run(...args);
    assert.equal(res.status, 0, args.join(" "));
    assert.match(res.stdout, /Usage: hero/);
  }
});

test("hero micrograd demo trains to 100% accuracy and writes both SVGs", () => {
  const res = run("micrograd", "demo", "--out", "figs");
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /parameters: 337/);
  assert.match(res.stdout, /step 99 loss \d\.\d+, accuracy 100\.0%/);
  const boundary = readFileSync(join(work, "figs", "moons-decision-boundary.svg"), "utf8");
  const curve = readFileSync(join(work, "figs", "moons-loss.svg"), "utf8");
  assert.match(boundary, /^<\?xml[\s\S]*<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // 100 data points drawn as circles over the classified grid (runs of a class merged per row).
  assert.equal((boundary.match(/<circle/g) ?? []).length, 100);
  assert.ok((boundary.match(/<rect/g) ?? []).length > 50);
  assert.match(boundary, /fill="#f4a6a6"/);
  assert.match(boundary, /fill="#a6c8f4"/);
  assert.match(curve, /<path[^>]*d="M/);
  assert.match(res.stdout, /wrote .*moons-decision-boundary\.svg/);
});

test("hero micrograd graph prints g, a.grad, b.grad and writes the graph", () => {
  const res = run("micrograd", "graph", "--out", "g.svg", "--dot");
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /g = 24\.7041/);
  assert.match(res.stdout, /a\.grad = 138\.8338/);
  assert.match(res.stdout, /b\.grad = 645\.5773/);
  const svg = readFileSync(join(work, "g.svg"), "utf8");
  assert.match(svg, /<svg/);
  assert.match(svg, /data 24\.7041/);
  const dot = readFileSync(join(work, "g.dot"), "utf8");
  assert.match(dot, /^digraph/);
});

test("bad options give a clear error and a non-zero exit", () => {
  const res = run("micrograd", "demo", "--steps", "many");
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /--steps.*expected an integer >= 1, got "many"/);
  const graph = run("micrograd", "graph", "--rankdir", "XY");
  assert.notEqual(graph.status, 0);
  assert.match(graph.stderr, /--rankdir must be LR, TB, RL or BT/);
});
