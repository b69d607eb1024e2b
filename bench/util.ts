/** Helpers shared by the benchmarks: locating references, running them, printing comparisons. */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** The repository root (bench files run from dist/bench). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

type BenchOptions = NonNullable<ParseArgsConfig["options"]>;

/**
 * The benchmark's options from process.argv (also after `hero bench NAME --`): --help prints them
 * and exits; an unknown one is an error listing them.
 */
export function benchArgs<const T extends BenchOptions>(
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true }>> {
  const args = process.argv.slice(2);
  const name = basename(process.argv[1] ?? "bench", ".js");
  const known = Object.entries(options).map(
    ([key, o]) =>
      `--${key}${o.type === "string" ? " <value>" : ""}${o.default !== undefined ? ` (default ${o.default})` : ""}`,
  );
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      known.length > 0
        ? `usage: hero bench ${name} -- [options]\n${known.map((k) => `  ${k}`).join("\n")}`
        : `${name} takes no options`,
    );
    process.exit(0);
  }
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens ?? [])
    if (token.kind === "option" && !Object.hasOwn(options, token.name))
      throw new Error(
        `unknown option ${token.rawName}; ${name} takes ${
          known.length > 0
            ? Object.keys(options)
                .map((k) => `--${k}`)
                .join(", ")
            : "no options"
        }`,
      );
  return parseArgs({ args, options, allowPositionals: true });
}

export function referencePath(name: string): string {
  return join(repoRoot, "bench", "reference", name);
}

/** The first Python of the candidates that runs; `needs` lists modules it must import. */
export function findPython(needs: string[] = []): string | undefined {
  const candidates = [process.env.HERO_PYTHON, "python3", "/usr/bin/python3"].filter(
    (c): c is string => typeof c === "string" && c.length > 0,
  );
  for (const python of candidates) {
    if (python.startsWith("/") && !existsSync(python)) continue;
    const probe = spawnSync(python, ["-c", needs.map((m) => `import ${m}`).join("; ") || "pass"], {
      stdio: "ignore",
    });
    if (probe.status === 0) return python;
  }
  return undefined;
}

export interface ReferenceRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function runPython(
  python: string,
  script: string,
  input: string,
  env: Record<string, string> = {},
): ReferenceRun {
  const res = spawnSync(python, [script], {
    input,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: res.status === 0, stdout: res.stdout ?? "", stderr: res.stderr ?? "" };
}

/**
 * A reference that stays running and answers one line per request line: the spec goes on the
 * first line, its first output line is the header. Used to time implementations in turns.
 */
export interface PythonServer {
  header: string;
  ask(line: string): Promise<string>;
  close(): void;
}

export async function servePython(
  python: string,
  script: string,
  spec: string,
  env: Record<string, string> = {},
): Promise<PythonServer> {
  const child = spawn(python, [script], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`${script} exited: ${stderr.trim().split("\n").at(-1) ?? "no output"}`);
    return r.value;
  };
  child.stdin.write(`${spec}\n`);
  const header = await next();
  return {
    header,
    ask: (line) => {
      child.stdin.write(`${line}\n`);
      return next();
    },
    close: () => {
      child.stdin.end();
    },
  };
}

export function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  for (const r of cells) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}
