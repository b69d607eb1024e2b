/**
 * Output folders of runs (checkpoints, metrics, exported models): a new run never writes over one
 * that holds files, and one process at a time writes a folder (hero.lock holds the writer's pid).
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";

export const LOCK_FILE = "hero.lock";

export interface ClaimOptions {
  /** Continue the run in the folder (it must hold one). */
  resume?: boolean;
  /** Move what the folder holds aside (DIR.old-<time>) and start afresh. */
  overwrite?: boolean;
  /** The command has --resume (the message offers it). */
  resumable?: boolean;
  log?: (line: string) => void;
  /** Called where two processes could race (tests pause there to widen the window). */
  onStage?: (stage: "take-over" | "overwrite") => void;
}

/** The pid in a lock file and whether that process runs; null if there is no such file or pid. */
function owner(lock: string): { pid: number; alive: boolean } | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(lock, "utf8").trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return { pid, alive: true };
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return { pid, alive: (error as NodeJS.ErrnoException).code === "EPERM" };
  }
}

/** The pid in a lock file, if it names a process that is still running (not this one). */
function liveOwner(lock: string): number | null {
  const o = owner(lock);
  return o?.alive && o.pid !== process.pid ? o.pid : null;
}

function refuseIfLocked(dir: string): void {
  const owner = liveOwner(resolve(dir, LOCK_FILE));
  if (owner !== null)
    throw new Error(
      `${dir} is in use by process ${owner} (${LOCK_FILE}); wait for it to end or stop it, or write elsewhere with --out`,
    );
}

/** The locks this process holds. */
const held = new Set<string>();
let releasedAtExit = false;

/** Remove a lock file if it still names this process (one another process took over is left alone). */
function removeIfMine(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
  } catch {
    // Gone already.
  }
}

/**
 * Give up every lock this process holds: at exit, and when a command run in process (tests, the
 * fuzz) has ended, so that the next command, in this process or another, may write the folder.
 */
export function releaseOutputFolders(): void {
  for (const path of held) removeIfMine(path);
  held.clear();
}

function release(path: string): void {
  removeIfMine(path);
  held.delete(path);
}

/** Block the thread for `ms` (lock contention lasts a few system calls). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Take the folder's lock (a stale one, of a process that is gone, is taken over). The lock appears
 * with the pid already in it (a written temporary file linked into place), so another process
 * never reads an empty lock and takes it for a stale one.
 * Only a process holding the take-over guard (hero.lock.takeover, linked into place the same way)
 * removes a stale lock, and only after reading it again under the guard: two processes that found
 * the same stale lock cannot both remove it, the second removing the first one's fresh lock.
 */
function lock(dir: string, onStage?: ClaimOptions["onStage"]): string {
  const path = resolve(dir, LOCK_FILE);
  const guard = `${path}.takeover`;
  const mine = `${path}.${process.pid}.tmp`;
  try {
    for (let tries = 0; ; tries++) {
      try {
        writeFileSync(mine, `${process.pid}\n`);
        linkSync(mine, path);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // The folder was moved aside (--overwrite in another process) while this one came in.
        if (code === "ENOENT" && tries < 100) {
          mkdirSync(dir, { recursive: true });
          continue;
        }
        if (code !== "EEXIST") throw error;
      }
      // Held by a live process: refused. Stale: taken over under the guard.
      refuseIfLocked(dir);
      onStage?.("take-over");
      try {
        linkSync(mine, guard);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") continue;
        if (code !== "EEXIST") throw error;
        const taker = owner(guard);
        if (taker && !taker.alive)
          throw new Error(
            `${guard} was left by process ${taker.pid}, which ended while taking over a stale lock; remove it and run again`,
          );
        // Another process is taking the lock over (a few system calls): then see who holds it.
        if (tries >= 500)
          throw new Error(`${dir}: process ${taker?.pid} has been taking over ${LOCK_FILE} for over 5 s`);
        sleep(10);
        continue;
      }
      try {
        refuseIfLocked(dir);
        rmSync(path, { force: true });
      } finally {
        removeIfMine(guard);
      }
    }
  } finally {
    rmSync(mine, { force: true });
  }
  if (!releasedAtExit) process.once("exit", releaseOutputFolders);
  releasedAtExit = true;
  held.add(path);
  return path;
}

/** A name beside `full` for the run --overwrite moves aside: DIR.old-<time>, -2, -3... if taken. */
function asideName(full: string): string {
  const base = `${full}.old-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!existsSync(name)) return name;
  }
}

/** A run's own files: checkpoints, metrics, a model. */
function holdsRun(entries: string[]): boolean {
  return entries.some(
    (e) =>
      e.startsWith("ckpt-") ||
      e === "metrics.jsonl" ||
      e === "model.safetensors" ||
      e === "state.json" ||
      e === "config.json",
  );
}

/**
 * Make `dir` this process's output folder: refused while another process writes it; without
 * `resume`, refused if it holds anything (unless `overwrite`, which moves it aside, never deletes).
 * Everything is decided holding the folder's lock, so no other `hero` changes it in between.
 * Returns the folder's absolute path.
 */
export function claimOutputFolder(dir: string, options: ClaimOptions = {}): string {
  const full = resolve(dir);
  if (options.resume && options.overwrite)
    throw new Error("--resume and --overwrite contradict each other: continue the run, or move it aside");
  // Not existsSync then statSync: another process's --overwrite may move the folder in between.
  if (statSync(full, { throwIfNoEntry: false })?.isDirectory() === false)
    throw new Error(`--out ${dir} is a file, not a folder`);
  mkdirSync(full, { recursive: true });
  const path = lock(full, options.onStage);
  try {
    // The lock's own files (this one's, and other processes' on their way in) are not the run's.
    const entries = readdirSync(full).filter((e) => !e.startsWith(LOCK_FILE));
    if (options.resume || entries.length === 0) return full;
    if (!options.overwrite) {
      const elsewhere = "write elsewhere with --out DIR, or move it aside with --overwrite";
      throw new Error(
        holdsRun(entries)
          ? `${full} holds a training run: ${options.resumable ? "continue it with --resume, " : ""}${elsewhere}`
          : `${full} is not empty (${entries.length} files): ${elsewhere}`,
      );
    }
    // Moving the folder a shell stands in (or one above it) would hide the user's files from it.
    const fromHere = relative(full, process.cwd());
    if (fromHere === "" || !(fromHere === ".." || fromHere.startsWith(`..${sep}`) || isAbsolute(fromHere)))
      throw new Error(
        `--overwrite would move ${full}, the current folder or one above it, aside: write elsewhere with --out DIR`,
      );
    options.onStage?.("overwrite");
    const aside = asideName(full);
    renameSync(full, aside);
    // The lock went along (with any other process's lock file on its way in): the run needs none.
    held.delete(path);
    for (const e of readdirSync(aside))
      if (e.startsWith(LOCK_FILE)) rmSync(resolve(aside, e), { force: true });
    options.log?.(`moved the previous run to ${aside}`);
  } catch (error) {
    release(path);
    throw error;
  }
  // A fresh folder, claimed as any other (another process may have taken it in the meantime).
  return claimOutputFolder(dir, { ...options, overwrite: false });
}
