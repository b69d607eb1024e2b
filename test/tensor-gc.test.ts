/** Without tidy, storage is freed by garbage collection (a FinalizationRegistry). */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as T from "../src/tensor/index.js";
import { testBackends } from "./tensor-backends.js";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

for (const backend of testBackends("all")) {
  test(`${backend}: tensors nobody references are freed by the garbage collector`, async () => {
    const live = () => T.memoryStats()[backend]?.buffers ?? 0;
    const before = live();
    await (async () => {
      let x = T.ones([1000], { backend });
      for (let i = 0; i < 200; i++) x = T.add(x, 1);
      assert.equal((await x.data())[0], 201);
    })();
    assert.ok(live() >= before + 200, "the loop allocated");
    for (let round = 0; round < 20 && live() > before + 5; round++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(live() <= before + 5, `still ${live() - before} buffers after collection`);
  });
}
