/** File output for commands: atomic writes, so an interrupted run never leaves half a file. */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export function writeFileAtomic(path: string, data: string | Uint8Array): string {
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  const tmp = join(dirname(full), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, full);
  return full;
}
