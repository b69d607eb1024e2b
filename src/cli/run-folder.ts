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
}

/** The pid in a lock file, if it names a process that is still running (not this one). */
function liveOwner(lock: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(lock, "utf8").trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
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

/**
 * Give up every lock this process holds: at exit, and when a command run in process (tests, the
 * fuzz) has ended, so that the next command, in this process or another, may write the folder.
 */
export function releaseOutputFolders(): void {
  for (const path of held) {
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {
      // Gone already.
    }
  }
  held.clear();
}

/**
 * Take the folder's lock (a stale one, of a process that is gone, is taken over). The lock appears
 * with the pid already in it (a written temporary file linked into place), so another process
 * never reads an empty lock and takes it for a stale one.
 */
function lock(dir: string): void {
  const path = resolve(dir, LOCK_FILE);
  const mine = `${path}.${process.pid}.tmp`;
  writeFileSync(mine, `${process.pid}\n`);
  try {
    for (let tries = 0; ; tries++) {
      try {
        linkSync(mine, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || tries >= 3) throw error;
        refuseIfLocked(dir);
        rmSync(path, { force: true });
      }
    }
  } finally {
    rmSync(mine, { force: true });
  }
  if (!releasedAtExit) process.once("exit", releaseOutputFolders);
  releasedAtExit = true;
  held.add(path);
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
 * Returns the folder's absolute path.
 */
export function claimOutputFolder(dir: string, options: ClaimOptions = {}): string {
  const full = resolve(dir);
  if (options.resume && options.overwrite)
    throw new Error("--resume and --overwrite contradict each other: continue the run, or move it aside");
  if (existsSync(full)) {
    if (!statSync(full).isDirectory()) throw new Error(`--out ${dir} is a file, not a folder`);
    refuseIfLocked(full);
    const entries = readdirSync(full).filter((e) => e !== LOCK_FILE);
    if (!options.resume && entries.length > 0) {
      if (options.overwrite) {
        // Moving the folder a shell stands in (or one above it) would hide the user's files from it.
        const fromHere = relative(full, process.cwd());
        if (
          fromHere === "" ||
          !(fromHere === ".." || fromHere.startsWith(`..${sep}`) || isAbsolute(fromHere))
        )
          throw new Error(
            `--overwrite would move ${full}, the current folder or one above it, aside: write elsewhere with --out DIR`,
          );
        const aside = `${full}.old-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}`;
        renameSync(full, aside);
        options.log?.(`moved the previous run to ${aside}`);
      } else {
        const elsewhere = "write elsewhere with --out DIR, or move it aside with --overwrite";
        throw new Error(
          holdsRun(entries)
            ? `${full} holds a training run: ${options.resumable ? "continue it with --resume, " : ""}${elsewhere}`
            : `${full} is not empty (${entries.length} files): ${elsewhere}`,
        );
      }
    }
  }
  mkdirSync(full, { recursive: true });
  lock(full);
  return full;
}
