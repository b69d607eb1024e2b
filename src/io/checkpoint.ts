/**
 * Training checkpoints (Node): a directory per checkpoint holding model.safetensors,
 * optimizer.safetensors and state.json (config, step, optimizer hyper-parameters, RNG state, ...),
 * and a pointer file checkpoint.json naming the current "last" and "best" ones.
 *
 * Writing is atomic at the directory level: the new checkpoint is written into a temporary
 * directory, fsynced and renamed, and only then does a rename of the pointer file switch to it.
 * A crash at any moment leaves the previous pointer and the directory it names intact.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { Tensor } from "../tensor/index.js";
import { CheckpointError } from "./errors.js";
import { readSafetensors, writeSafetensors } from "./node.js";

export const POINTER_FILE = "checkpoint.json";

export interface CheckpointContents {
  weights: Map<string, Tensor>;
  optimizer?: Map<string, Tensor>;
  /** Anything JSON: config, iteration, optimizer hyper-parameters, RNG states, best loss. */
  state: Record<string, unknown>;
}

export interface LoadedCheckpoint extends CheckpointContents {
  /** Directory the checkpoint was read from. */
  path: string;
}

export type CheckpointRole = "last" | "best";

interface Pointer {
  format: "herograd-checkpoint";
  version: 1;
  last?: string;
  best?: string;
}

/** The moments between the steps of a save: after each file, the directory rename, the new pointer's write. */
export type CheckpointStage = "weights" | "optimizer" | "state" | "renamed" | "pointer";

export interface SaveCheckpointOptions {
  /** Which roles the new checkpoint takes (default ["last"]). */
  roles?: CheckpointRole[];
  /** Called between the stages of a write; tests throw from it to simulate a crash. */
  onStage?: (stage: CheckpointStage) => void;
}

function writeFileSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the renames are still atomic.
  }
}

function readPointer(dir: string): Pointer | null {
  const file = join(dir, POINTER_FILE);
  if (!existsSync(file)) return null;
  let p: Pointer;
  try {
    p = JSON.parse(readFileSync(file, "utf8")) as Pointer;
  } catch (error) {
    throw new CheckpointError(file, `not valid JSON (${(error as Error).message.replaceAll("\n", "\\n")})`);
  }
  if (typeof p !== "object" || p === null || p.format !== "herograd-checkpoint")
    throw new CheckpointError(file, "not a herograd checkpoint pointer");
  for (const role of ["last", "best"] as const) {
    const name = p[role];
    // Only a checkpoint directory beside the pointer, never a path elsewhere.
    if (name !== undefined && (typeof name !== "string" || !/^ckpt-[0-9a-z-]+$/.test(name)))
      throw new CheckpointError(file, `"${role}" is not a checkpoint name: ${JSON.stringify(name)}`);
  }
  return p;
}

/** Save a checkpoint into `dir` (created if needed); returns the new checkpoint's directory. */
export function saveCheckpoint(
  dir: string,
  contents: CheckpointContents,
  options: SaveCheckpointOptions = {},
): string {
  const { roles = ["last"], onStage } = options;
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const step = typeof contents.state.iter === "number" ? contents.state.iter : 0;
  const stamp = `${String(step).padStart(7, "0")}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const name = `ckpt-${stamp}`;
  const tmp = join(root, `.tmp-${stamp}`);
  mkdirSync(tmp);
  writeSafetensors(join(tmp, "model.safetensors"), contents.weights, { format: "pt" });
  onStage?.("weights");
  if (contents.optimizer) writeSafetensors(join(tmp, "optimizer.safetensors"), contents.optimizer);
  onStage?.("optimizer");
  writeFileSynced(join(tmp, "state.json"), `${JSON.stringify(contents.state, null, 1)}\n`);
  onStage?.("state");
  syncDir(tmp);
  renameSync(tmp, join(root, name));
  syncDir(root);
  onStage?.("renamed");

  const old = readPointer(root);
  const pointer: Pointer = { format: "herograd-checkpoint", version: 1, last: old?.last, best: old?.best };
  for (const r of roles) pointer[r] = name;
  const pointerTmp = join(root, `.${POINTER_FILE}.${stamp}.tmp`);
  writeFileSynced(pointerTmp, `${JSON.stringify(pointer, null, 1)}\n`);
  onStage?.("pointer");
  renameSync(pointerTmp, join(root, POINTER_FILE));
  syncDir(root);

  // Remove checkpoints no role names any more, and leftovers of interrupted writes.
  const keepNames = new Set([pointer.last, pointer.best]);
  for (const entry of readdirSync(root)) {
    if (
      (entry.startsWith("ckpt-") && !keepNames.has(entry)) ||
      entry.startsWith(".tmp-") ||
      entry.startsWith(`.${POINTER_FILE}.`)
    )
      rmSync(join(root, entry), { recursive: true, force: true });
  }
  return join(root, name);
}

/** True when `dir` holds a checkpoint (a pointer file, or the files of one checkpoint). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, POINTER_FILE)) || existsSync(join(dir, "state.json"));
}

export interface LoadCheckpointOptions {
  /**
   * optimizer.safetensors: read when present ("optional", the default), an error when missing
   * ("required": a resumed run would go on with zeroed moments), or not read ("skip").
   */
  optimizer?: "optional" | "required" | "skip";
  /** Appended to the "missing" error of a required optimizer file, e.g. the flag that resets it. */
  missingOptimizerHint?: string;
}

/**
 * Load the checkpoint of `role` from `dir` (a directory with checkpoint.json), or `dir` itself
 * when it is a single checkpoint's directory.
 */
export function loadCheckpoint(
  dir: string,
  role: CheckpointRole = "last",
  { optimizer: readOptimizer = "optional", missingOptimizerHint }: LoadCheckpointOptions = {},
): LoadedCheckpoint {
  const root = resolve(dir);
  let path = root;
  const pointer = readPointer(root);
  if (pointer) {
    const name = pointer[role] ?? pointer.last ?? pointer.best;
    if (!name) throw new CheckpointError(join(root, POINTER_FILE), "names no checkpoint");
    path = join(root, name);
  } else if (!existsSync(join(root, "state.json"))) {
    throw new Error(`no checkpoint in ${root}: expected ${POINTER_FILE} or state.json`);
  }
  const stateFile = join(path, "state.json");
  if (!existsSync(stateFile))
    throw new CheckpointError(stateFile, `missing: checkpoint ${path} is incomplete`);
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError(
      stateFile,
      `not valid JSON (${(error as Error).message.replaceAll("\n", "\\n")})`,
    );
  }
  if (typeof state !== "object" || state === null || Array.isArray(state))
    throw new CheckpointError(stateFile, "not a JSON object");
  const weights = readSafetensors(join(path, "model.safetensors")).tensors;
  const optFile = join(path, "optimizer.safetensors");
  if (readOptimizer === "required" && !existsSync(optFile))
    throw new CheckpointError(
      optFile,
      `missing: resuming needs the optimizer's state${missingOptimizerHint ? `; ${missingOptimizerHint}` : ""}`,
    );
  const optimizer =
    readOptimizer !== "skip" && existsSync(optFile) ? readSafetensors(optFile).tensors : undefined;
  return { path, weights, state, ...(optimizer ? { optimizer } : {}) };
}
