/** Output folders: the lock appears with its owner's pid, and --overwrite never moves the folder a shell stands in. */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { claimOutputFolder, LOCK_FILE, releaseOutputFolders } from "../src/cli/run-folder.js";

test("the lock holds this process's pid from the moment it exists, and is given back", (t) => {
  const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = claimOutputFolder(join(root, "run"));
  assert.equal(readFileSync(join(out, LOCK_FILE), "utf8"), `${process.pid}\n`);
  assert.deepEqual(readdirSync(out), [LOCK_FILE], "no temporary file is left beside the lock");
  releaseOutputFolders();
  assert.ok(!existsSync(join(out, LOCK_FILE)));
});

test("--overwrite refuses the current folder and the folders above it, and moves nothing", (t) => {
  const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
  const here = process.cwd();
  t.after(() => {
    process.chdir(here);
    rmSync(root, { recursive: true, force: true });
  });
  const project = join(root, "project");
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(join(project, "notes.txt"), "mine");
  for (const cwd of [project, join(project, "src")]) {
    process.chdir(cwd);
    assert.throws(() => claimOutputFolder(project, { overwrite: true }), /current folder or one above it/);
    assert.equal(readFileSync(join(project, "notes.txt"), "utf8"), "mine");
  }
  // From elsewhere the same folder is moved aside, never deleted.
  process.chdir(root);
  claimOutputFolder(project, { overwrite: true });
  releaseOutputFolders();
  const aside = readdirSync(root).find((e) => e.startsWith("project.old-"));
  assert.ok(aside, "moved aside");
  assert.equal(readFileSync(join(root, aside!, "notes.txt"), "utf8"), "mine");
});
