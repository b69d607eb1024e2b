/** Checkpoints: atomic at the directory level; an interrupted write leaves the previous one loadable. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadCheckpoint, saveCheckpoint } from "../src/io/checkpoint.js";
import { tensor } from "../src/tensor/index.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-ckpt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function contents(iter: number) {
  return {
    weights: new Map([["w", tensor([iter, iter + 1])]]),
    optimizer: new Map([["0.m", tensor([iter * 10])]]),
    state: { iter, note: `step ${iter}` },
  };
}

test("save and load the last and best checkpoints; old ones are removed", () => {
  const root = join(dir, "run");
  saveCheckpoint(root, contents(1), { roles: ["last", "best"] });
  saveCheckpoint(root, contents(2), { roles: ["last"] });
  const last = loadCheckpoint(root, "last");
  assert.equal(last.state.iter, 2);
  assert.deepEqual([...last.weights.get("w")!.dataSync()], [2, 3]);
  assert.deepEqual([...last.optimizer!.get("0.m")!.dataSync()], [20]);
  assert.equal(loadCheckpoint(root, "best").state.iter, 1);
  saveCheckpoint(root, contents(3), { roles: ["last", "best"] });
  assert.equal(readdirSync(root).filter((e) => e.startsWith("ckpt-")).length, 1);
  // a single checkpoint directory loads by itself
  assert.equal(
    loadCheckpoint(last.path.replace(/ckpt-[^/]*$/, readdirSync(root).find((e) => e.startsWith("ckpt-"))!))
      .state.iter,
    3,
  );
});

test("a write interrupted at any stage leaves the previous checkpoint loadable", () => {
  for (const stage of ["weights", "optimizer", "state", "renamed", "pointer"] as const) {
    const root = join(dir, `crash-${stage}`);
    saveCheckpoint(root, contents(5), { roles: ["last", "best"] });
    assert.throws(
      () =>
        saveCheckpoint(root, contents(6), {
          roles: ["last", "best"],
          onStage: (s) => {
            if (s === stage) throw new Error(`simulated crash after ${s}`);
          },
        }),
      /simulated crash/,
    );
    const ck = loadCheckpoint(root, "last");
    assert.equal(ck.state.iter, 5, stage);
    assert.deepEqual([...ck.weights.get("w")!.dataSync()], [5, 6]);
    // the next save succeeds and cleans up the leftovers
    saveCheckpoint(root, contents(7));
    assert.equal(loadCheckpoint(root).state.iter, 7);
    assert.ok(!readdirSync(root).some((e) => e.startsWith(".tmp-")));
  }
});

test("a missing checkpoint is a clear error", () => {
  assert.throws(() => loadCheckpoint(join(dir, "nothing")), /no checkpoint in .*nothing/);
  assert.ok(!existsSync(join(dir, "nothing")));
});
