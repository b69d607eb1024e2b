/** test/fixtures is what test/reference/make_fixtures.py writes: regenerated, byte for byte. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixturesDir, noTorch, PYTHON, repoRoot } from "./helpers.js";

/** Every file under `dir`, as sorted relative paths. */
function files(dir: string, sub = ""): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(dir, join(sub, e.name)) : [join(sub, e.name)]))
    .sort();
}

test("make_fixtures.py rewrites every committed fixture byte for byte", { skip: noTorch() }, () => {
  const out = mkdtempSync(join(tmpdir(), "hero-fixtures-"));
  try {
    const res = spawnSync(PYTHON, [join(repoRoot, "test", "reference", "make_fixtures.py"), out], {
      encoding: "utf8",
      env: { ...process.env, OPENBLAS_CORETYPE: "SkylakeX" },
    });
    assert.equal(res.status, 0, res.stderr);
    const committed = files(fixturesDir).filter((f) => f !== "README.md");
    assert.deepEqual(files(out), committed);
    const { torch_version } = JSON.parse(readFileSync(join(fixturesDir, "ops.json"), "utf8")) as {
      torch_version: string;
    };
    for (const file of committed) {
      assert.ok(
        readFileSync(join(out, file)).equals(readFileSync(join(fixturesDir, file))),
        `${file} differs from the committed one (written with PyTorch ${torch_version})`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
