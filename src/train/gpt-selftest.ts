/**
 * Check a GPT-2 model against a PyTorch reference in the format of test/fixtures/gpt2_tiny.ref.json
 * (llm.c's test_gpt2): logits, loss, every parameter gradient, the AdamW step losses and the greedy
 * decode. Node only (reads files). Values are read with `await data()`, so it runs on every
 * backend, webgpu included.
 */
import { readFileSync } from "node:fs";
import { toHFState } from "../io/gpt2.js";
import { loadHFGPT2, readSafetensors } from "../io/node.js";
import { AdamW } from "../optim/index.js";
import { type Tensor, tensor, tidy } from "../tensor/index.js";

interface RefTensor {
  shape: number[];
  data: number[];
}

/** Absolute and relative tolerance of a comparison. */
export interface Tol {
  atol: number;
  rtol: number;
}

export interface GPT2Reference {
  B: number;
  T: number;
  idx: RefTensor;
  targets: RefTensor;
  logits: RefTensor;
  loss: number;
  train: {
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    steps: number;
    losses: number[];
    loss_after_last_step: number;
  };
  greedy: { prompt: number[]; new_tokens: number[]; tokens: number[] };
  tolerance: { logits: Tol; loss: Tol; grads: Tol; train_losses: Tol };
}

export interface SelftestCheck {
  name: string;
  passed: boolean;
  /** Largest error, or what differs. */
  detail: string;
}

function compare(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tol,
): SelftestCheck {
  if (actual.length !== expected.length)
    return { name, passed: false, detail: `${actual.length} values, expected ${expected.length}` };
  let maxErr = 0;
  let failures = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e);
    if (!(err <= tol.atol + tol.rtol * Math.abs(e))) {
      failures++;
      if (worst < 0 || err > Math.abs(actual[worst]! - expected[worst]!)) worst = i;
    }
    if (err > maxErr || Number.isNaN(err)) maxErr = Number.isNaN(err) ? Number.NaN : err;
  }
  const detail =
    failures === 0
      ? `max error ${maxErr.toExponential(2)}`
      : `${failures} of ${expected.length} values outside atol ${tol.atol}, rtol ${tol.rtol}; max error ${maxErr.toExponential(2)} (at ${worst}: ${actual[worst]} vs ${expected[worst]})`;
  return { name, passed: failures === 0, detail };
}

export interface SelftestPaths {
  /** Directory with config.json and model.safetensors (Hugging Face layout). */
  model: string;
  ref: string;
  grads: string;
}

async function scalar(t: Tensor): Promise<number> {
  return (await t.data())[0]!;
}

/** Run every check; never throws for a numerical mismatch (only for unreadable files). */
export async function runGPT2Selftest(paths: SelftestPaths): Promise<SelftestCheck[]> {
  const ref = JSON.parse(readFileSync(paths.ref, "utf8")) as GPT2Reference;
  for (const k of ["idx", "targets", "logits", "loss", "train", "greedy", "tolerance"] as const) {
    if (!(k in ref)) throw new Error(`${paths.ref}: no "${k}" field: not a gpt2_tiny.ref.json-format file`);
  }
  const checks: SelftestCheck[] = [];
  const model = loadHFGPT2(paths.model);
  model.eval();
  const idx = tensor(ref.idx.data, { dtype: "int32", shape: ref.idx.shape });
  const targets = tensor(ref.targets.data, { dtype: "int32", shape: ref.targets.shape });

  const { logits, loss } = model.forward(idx, { targets });
  checks.push(compare("logits", await logits.data(), ref.logits.data, ref.tolerance.logits));
  checks.push(compare("loss", [await scalar(loss!)], [ref.loss], ref.tolerance.loss));
  model.zeroGrad();
  loss!.backward();
  logits.dispose();
  loss!.dispose();
  const ours = toHFState(model, { grads: true });
  const expected = readSafetensors(paths.grads).tensors;
  for (const [key, g] of expected) {
    const mine = ours.get(key);
    if (!mine) {
      checks.push({ name: `grad ${key}`, passed: false, detail: "the model has no such parameter" });
      continue;
    }
    if (mine.shape.join(",") !== g.shape.join(",")) {
      checks.push({
        name: `grad ${key}`,
        passed: false,
        detail: `shape [${mine.shape.join(", ")}], expected [${g.shape.join(", ")}]`,
      });
      continue;
    }
    checks.push(compare(`grad ${key}`, await mine.data(), await g.data(), ref.tolerance.grads));
  }
  for (const key of ours.keys()) {
    if (!expected.has(key))
      checks.push({ name: `grad ${key}`, passed: false, detail: "not in the reference gradients" });
  }

  // Greedy decode with the untrained weights, before training changes them.
  const greedy = await model.generate(ref.greedy.prompt, ref.greedy.new_tokens.length, {
    temperature: 0,
  });
  const tokens = [...(await greedy.data())];
  greedy.dispose();
  const same =
    tokens.length === ref.greedy.tokens.length && tokens.every((t, i) => t === ref.greedy.tokens[i]);
  checks.push({
    name: "greedy decode",
    passed: same,
    detail: same ? tokens.join(" ") : `got ${tokens.join(" ")}, expected ${ref.greedy.tokens.join(" ")}`,
  });
  const decode = async (kvCache: boolean) => {
    const out = await model.generate(ref.greedy.prompt, ref.greedy.new_tokens.length, {
      temperature: 0,
      kvCache,
    });
    const ids = [...(await out.data())];
    out.dispose();
    return ids;
  };
  const cached = await decode(true);
  const uncached = await decode(false);
  checks.push({
    name: "greedy decode with and without KV cache",
    passed: cached.join(" ") === uncached.join(" "),
    detail: `cached ${cached.join(" ")}, uncached ${uncached.join(" ")}`,
  });

  const tr = ref.train;
  const opt = new AdamW(model.parameters(), {
    lr: tr.lr,
    betas: tr.betas,
    eps: tr.eps,
    weightDecay: tr.weight_decay,
  });
  const losses: number[] = [];
  for (let s = 0; s < tr.steps; s++) {
    const stepLoss = tidy(() => {
      const { loss } = model.forward(idx, { targets });
      opt.zeroGrad();
      loss!.backward();
      opt.step();
      return loss!.detach();
    });
    losses.push(await scalar(stepLoss));
  }
  const after = await scalar(tidy(() => model.forward(idx, { targets }).loss!.detach()));
  losses.forEach((l, i) => {
    checks.push(compare(`AdamW step ${i + 1} loss`, [l], [tr.losses[i]!], ref.tolerance.train_losses));
  });
  checks.push(
    compare("loss after the last step", [after], [tr.loss_after_last_step], ref.tolerance.train_losses),
  );
  return checks;
}
