/** The tiny GPT-2 fixture's files, from test/fixtures (where the repository ships them) or ../shared/fixtures. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fixturesDir, repoRoot } from "./helpers.js";

export function gpt2Fixture(name: string): string {
  for (const dir of [join(repoRoot, "test", "fixtures"), fixturesDir]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`fixture ${name} is in neither test/fixtures nor ${fixturesDir}`);
}
