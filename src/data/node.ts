/**
 * Finding a data set on disk (Node): an explicit path; a copy in the data dir (HERO_DATA_DIR, else
 * the cache dir ~/.cache/herograd); the copy herograd ships (data/ at the package root: names,
 * tinyshakespeare, taylorswift); a download from the canonical source checked against its sha256.
 * HellaSwag's files are found the same way, without a shipped copy.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type DatasetInfo, datasetInfo } from "./catalog.js";
import { HELLASWAG_SPLITS, type HellaSwagSplit, hellaswagUrl, parseHellaSwag } from "./hellaswag.js";

/**
 * `length` bytes of an open file from `position`; a file that ends first is the error `truncated`
 * makes of the message (each loader's own typed error, naming the file).
 */
export function readExactly(
  fd: number,
  length: number,
  position: number,
  truncated: (message: string) => Error,
): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw truncated(`truncated: expected ${length} bytes at offset ${position}`);
    done += n;
  }
  return buf;
}

export interface LoadOptions {
  /** A file to use instead of looking the data set up. */
  path?: string;
  /** Where copies live; default HERO_DATA_DIR, else ~/.cache/herograd. */
  dataDir?: string;
  /** Use the copy herograd ships when `dataDir` has none (default true). */
  shipped?: boolean;
  /** Try the canonical source when no copy exists (default true; HERO_OFFLINE=1 turns it off). */
  download?: boolean;
  /** Called with a line saying what happens (downloading). */
  log?: (message: string) => void;
}

export interface LoadedText {
  text: string;
  /** Where the text came from: a path or a URL. */
  source: string;
}

export function defaultDataDir(): string {
  return process.env.HERO_DATA_DIR
    ? resolve(process.env.HERO_DATA_DIR)
    : join(homedir(), ".cache", "herograd");
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}

async function download(info: DatasetInfo, target: string, log: (m: string) => void): Promise<string> {
  log(`downloading ${info.file} from ${info.url}`);
  const response = await fetch(info.url);
  if (!response.ok) throw new Error(`download of ${info.url} failed: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const sum = sha256(bytes);
  if (sum !== info.sha256) {
    throw new Error(`download of ${info.url} has sha256 ${sum}, expected ${info.sha256}: not saved`);
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, target);
  log(`saved ${target}`);
  return new TextDecoder().decode(bytes);
}

/**
 * The folder of data sets herograd ships (data/ at the package root, found from src/data or
 * dist/src/data), or null where it is missing.
 */
export function shippedDataDir(): string | null {
  for (const up of ["../../data", "../../../data"]) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, "SOURCES.md"))) return dir;
  }
  return null;
}

/**
 * A local copy of a data set: in `dataDir` (default HERO_DATA_DIR, else the cache dir), else the
 * one herograd ships; null when there is none.
 */
export function localDatasetPath(
  name: string,
  options: Pick<LoadOptions, "dataDir" | "shipped"> = {},
): string | null {
  const { file } = datasetInfo(name);
  const shipped = options.shipped === false ? null : shippedDataDir();
  for (const dir of [options.dataDir ?? defaultDataDir(), shipped]) {
    if (dir && existsSync(join(dir, file))) return join(dir, file);
  }
  return null;
}

/** Load a data set's text by name, trying each place in turn. */
export async function loadText(name: string, options: LoadOptions = {}): Promise<LoadedText> {
  const log = options.log ?? (() => {});
  if (options.path) {
    if (!existsSync(options.path)) throw new Error(`data file ${options.path} does not exist`);
    return { text: readText(options.path), source: resolve(options.path) };
  }
  const info = datasetInfo(name);
  const dir = options.dataDir ?? defaultDataDir();
  const local = localDatasetPath(name, options);
  if (local) return { text: readText(local), source: local };

  const allowDownload = options.download ?? !process.env.HERO_OFFLINE;
  let downloadError: unknown;
  if (allowDownload) {
    try {
      return { text: await download(info, join(dir, info.file), log), source: info.url };
    } catch (error) {
      downloadError = error;
    }
  }
  const why = downloadError instanceof Error ? ` (download failed: ${downloadError.message})` : "";
  throw new Error(
    `data set "${name}" not found: put ${info.file} (${info.bytes} bytes, sha256 ${info.sha256}) in ${dir}, ` +
      `set HERO_DATA_DIR to a folder holding it, or pass its path${why}`,
  );
}

/**
 * The HellaSwag file of a split: an explicit path, else hellaswag_<split>.jsonl in the data dir,
 * else a download from the dataset's repository (checked by parsing every record and counting
 * them: the repository publishes no checksum). Offline, the error names the file and where it goes.
 */
export async function hellaswagFile(
  split: HellaSwagSplit,
  options: Pick<LoadOptions, "path" | "dataDir" | "download" | "log"> & {
    /** The command's option that takes the file's path, for the message when it is missing. */
    flag?: string;
  } = {},
): Promise<string> {
  const log = options.log ?? (() => {});
  if (options.path) {
    if (!existsSync(options.path)) throw new Error(`HellaSwag file ${options.path} does not exist`);
    return resolve(options.path);
  }
  const { file, examples } = HELLASWAG_SPLITS[split];
  const dir = options.dataDir ?? defaultDataDir();
  const local = join(dir, file);
  if (existsSync(local)) return local;
  const url = hellaswagUrl(split);
  let why = "";
  if (options.download ?? !process.env.HERO_OFFLINE) {
    try {
      log(`downloading ${file} from ${url}`);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      const n = parseHellaSwag(text, url).length;
      if (n !== examples) throw new Error(`${n} records, expected ${examples}`);
      mkdirSync(dir, { recursive: true });
      const tmp = `${local}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, local);
      log(`saved ${local}`);
      return local;
    } catch (error) {
      why = ` (download failed: ${(error as Error).message})`;
    }
  }
  throw new Error(
    `HellaSwag ${split} not found: put ${file} (${examples} records, from ${url}) in ${dir}, ` +
      `set HERO_DATA_DIR to a folder holding it, or pass its path with ${options.flag ?? "--data"}${why}`,
  );
}
