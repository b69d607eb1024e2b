/** The README's TypeScript snippets are the files of examples/, and they run as the README says. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./helpers.js";

const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const expected: Record<string, RegExp> = {
  "micrograd.ts": /^24\.7041 138\.8338 645\.5773\n$/,
  "tensor-bigram.ts": /^0 2\.7340\n(.*\n)*80 0\.2831\n$/,
  "nn-mlp.ts": /^0 \d\.\d{4}\n10 \d\.\d{4}\n12097\n$/,
};

test("every example is a snippet of the README, word for word, and the README has no other", () => {
  const files = readdirSync(join(repoRoot, "examples")).filter((f) => f.endsWith(".ts"));
  assert.deepEqual(files.sort(), Object.keys(expected).sort());
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.deepEqual(
    snippets,
    files
      .map((f) => readFileSync(join(repoRoot, "examples", f), "utf8"))
      .sort((a, b) => readme.indexOf(a) - readme.indexOf(b)),
  );
});

for (const [file, output] of Object.entries(expected)) {
  test(`examples/${file} runs on Node (compiled to dist/examples) and prints what the README says`, () => {
    const js = join(repoRoot, "dist", "examples", file.replace(/\.ts$/, ".js"));
    const res = spawnSync(process.execPath, [js], {
      encoding: "utf8",
      env: { ...process.env, HERO_NO_RESPAWN: "1" },
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, output);
  });
}
