/**
 * `hero lab`: build the browser lab with Vite and serve it on localhost.
 * `hero lesson`: the same lessons in the terminal (list them, run an experiment, write its figures).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { findLesson, lessons } from "../../../lessons/index.js";
import {
  collectingContext,
  type DetailFigure,
  type Figure,
  type LabEvent,
  type LessonFile,
  type NetworkFigure,
  type NeuronHistory,
  parseParams,
  unitFlag,
} from "../../../lessons/lesson.js";
import { cellSource, findLine } from "../../../lessons/source.js";
import { DATASETS } from "../../data/index.js";
import { localDatasetPath } from "../../data/node.js";
import { dotToSvg } from "../../micrograd/index.js";
import { decisionBoundary, headlessDocument, imageRGBA, lineChart, svgText } from "../../plot/index.js";
import { writeFileAtomic } from "../files.js";
import { startLabServer } from "../lab-server.js";
import { signalExitCode } from "../lifecycle.js";
import { rangeOption } from "../options.js";
import { imagesPng } from "../png.js";
import { startProgress } from "../progress.js";

/** The repository root (this file runs from dist/src/cli/commands). */
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
export const labDir = join(repoRoot, "lab");
export const labBuildDir = join(repoRoot, "dist", "lab");
export const DEFAULT_PORT = 5180;

/** Build the lab into dist/lab with Vite (a development dependency, as the lab's sources are). */
export async function buildLab(): Promise<string> {
  const { build } = await import("vite");
  await build({ configFile: join(labDir, "vite.config.ts"), logLevel: "warn" });
  return labBuildDir;
}

/**
 * The data files the lab may fetch, at /data/FILE: the series' data sets, each from `dir` (default
 * HERO_DATA_DIR, else the cache dir) when it holds one, else the copy herograd ships. Named one by
 * one; no folder is served.
 */
export function labDataFiles(dir?: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const { name, file } of Object.values(DATASETS)) {
    const path = localDatasetPath(name, dir ? { dataDir: dir } : {});
    if (path) files[file] = path;
  }
  return files;
}

async function listen(host: string, port: number, fixedPort: boolean) {
  const data = labDataFiles();
  for (let tries = 0; ; tries++) {
    try {
      return await startLabServer({ root: labBuildDir, host, port: port + tries, data });
    } catch (error) {
      const inUse = (error as NodeJS.ErrnoException).code === "EADDRINUSE";
      if (!inUse || fixedPort || tries >= 20) throw error;
    }
  }
}

export function registerLab(program: Command): void {
  program
    .command("lab")
    .description(
      "build the browser lab and serve it on localhost (code, math and live experiments per lesson)",
    )
    .option(
      "--host <host>",
      "interface to listen on (another than 127.0.0.1 only when you mean it)",
      "127.0.0.1",
    )
    .option(
      "--port <n>",
      `port (default ${DEFAULT_PORT}, or the next free one; 0: any free port)`,
      rangeOption({ integer: true, min: 0, max: 65535 }),
    )
    .option("--no-build", "serve the lab as last built (dist/lab) without building it again")
    .action(async (opts: { host: string; port?: number; build: boolean }) => {
      // An installed package carries the built lab but not its sources (nor Vite): it serves that.
      if (opts.build && existsSync(join(labDir, "vite.config.ts"))) {
        const started = performance.now();
        try {
          await buildLab();
          console.log(`built the lab in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        } catch (error) {
          if (!existsSync(join(labBuildDir, "index.html"))) throw error;
          console.error(
            `hero: could not build the lab (${(error as Error).message}); serving the last build`,
          );
        }
      }
      if (!existsSync(join(labBuildDir, "index.html"))) {
        throw new Error(
          `no built lab in ${labBuildDir}: run \`npm run build\` or \`hero lab\` without --no-build`,
        );
      }
      const server = await listen(opts.host, opts.port ?? DEFAULT_PORT, opts.port !== undefined);
      if (opts.host !== "127.0.0.1" && opts.host !== "localhost" && opts.host !== "::1") {
        console.log(`note: listening on ${opts.host}: other machines on the network can reach the lab`);
      }
      console.log(`herograd lab: ${server.url}`);
      console.log("press Ctrl-C to stop");
      const stop = (signal: NodeJS.Signals) => {
        void server.close().then(() => process.exit(signalExitCode(signal)));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });

  const lesson = program.command("lesson").description("the lab's lessons in the terminal");

  lesson
    .command("list")
    .description("list the lessons, their sections and experiments with their parameters")
    .action(async () => {
      for (const entry of lessons) {
        const l = await entry.load();
        console.log(`${l.number}. ${l.title} (${l.id}): ${l.summary}`);
        for (const s of l.sections) {
          if (!s.experiment) continue;
          const params = Object.entries(s.experiment.params)
            .filter(([, p]) => p.kind !== "text" && p.kind !== "file")
            .map(([k, p]) => `${k}=${String(p.default)}`)
            .join(" ");
          console.log(`   ${s.id}: ${s.experiment.title}${params ? `  [${params}]` : ""}`);
        }
      }
    });

  lesson
    .command("run", { isDefault: true })
    .description("run a lesson's experiment and write its figures as SVG")
    .argument("<lesson>", "lesson id, number or title (e.g. 1 or 01-micrograd)")
    .argument("[section]", "the section whose experiment to run (default: the first with one)")
    .option("--set <key=value...>", "set a parameter (repeatable)")
    .option(
      "--select <figure:i,j...>",
      "after the run, click an element of a figure as in the lab (e.g. mlp:1,3 for neuron 3 of layer 1) and print what it shows; LAYER:UNIT (1:37) or LAYER:hHEAD (0:h2) picks a neuron or a head by number and prints its top contexts over the data",
    )
    .option(
      "--ablate <LAYER:UNIT...>",
      "after the run, ablate a neuron (1:37) or a head (0:h2) and print the val loss before and after; =mean sets it to its mean instead of 0, =NUMBER clamps it (1:37=2.5)",
    )
    .option("--out <dir>", "where to write the figures", "out/lesson")
    .action(
      async (
        lessonId: string,
        sectionId: string | undefined,
        opts: { set?: string[]; select?: string[]; ablate?: string[]; out: string },
      ) => {
        // Checked before the run, so a typo does not cost a training run.
        const selections = (opts.select ?? []).map((v) => parseSelection("--select", v));
        const ablations = (opts.ablate ?? []).map((v) => parseSelection("--ablate", v));
        const entry = findLesson(lessonId);
        if (!entry)
          throw new Error(`no lesson "${lessonId}" (known: ${lessons.map((l) => l.id).join(", ")})`);
        const l = await entry.load();
        const section = sectionId
          ? l.sections.find((s) => s.id === sectionId)
          : l.sections.find((s) => s.experiment !== undefined);
        const experiment = section?.experiment;
        if (!section || !experiment) {
          const known = l.sections.filter((s) => s.experiment).map((s) => s.id);
          throw new Error(`lesson ${l.id} has no experiment "${sectionId}" (known: ${known.join(", ")})`);
        }
        const input: Record<string, string> = {};
        for (const pair of opts.set ?? []) {
          const eq = pair.indexOf("=");
          if (eq <= 0) throw new Error(`--set expects key=value, got "${pair}"`);
          input[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        // A file parameter is given as a path: read it here, as the lab's file picker does.
        const files: Record<string, LessonFile> = {};
        for (const [key, value] of Object.entries(input)) {
          if (experiment.params[key]?.kind !== "file") continue;
          if (!existsSync(value)) throw new Error(`--set ${key}: no file ${value}`);
          files[key] = { name: basename(value), bytes: new Uint8Array(readFileSync(value)) };
          // A model's config.json beside its weights comes along, as the lab's download brings it.
          const config = join(dirname(value), "config.json");
          if (basename(value) !== "config.json" && existsSync(config))
            files[key].siblings = { "config.json": new Uint8Array(readFileSync(config)) };
        }
        const params = parseParams(experiment.params, { ...input, ...files });
        const steps = typeof params.steps === "number" ? params.steps : undefined;
        const progress = experiment.streaming && steps ? startProgress(section.id, steps) : undefined;
        let ticks = 0;
        const figures = new Map<string, Figure>();
        const series = new Map<string, Map<string, { x: number; y: number }[]>>();
        const onEvent = (event: LabEvent) => {
          if (event.type === "log") console.log(event.text);
          else if (event.type === "figure") figures.set(event.figure.id, event.figure);
          else if (event.type === "points") {
            const byName = series.get(event.figure) ?? new Map<string, { x: number; y: number }[]>();
            byName.set(event.series, [...(byName.get(event.series) ?? []), ...event.points]);
            series.set(event.figure, byName);
          }
        };
        const context = collectingContext(onEvent);
        context.tick = async () => {
          ticks++;
          const stats = [...figures.values()].find((f) => f.kind === "stats");
          const shown =
            stats?.kind === "stats" ? Object.fromEntries(stats.items.map((i) => [i.label, i.value])) : {};
          progress?.update(Math.min(ticks, steps ?? ticks), shown);
        };
        try {
          await experiment.run(params, context);
        } finally {
          // Also after an error: the progress bar's timer would keep the process alive.
          progress?.stop();
        }
        const stats = [...figures.values()].find((f) => f.kind === "stats");
        if (stats?.kind === "stats") console.log(stats.items.map((i) => `${i.label} ${i.value}`).join(", "));
        for (const selection of [...selections, ...ablations]) {
          const figure = figures.get(selection.figure);
          if (figure?.kind === "network") checkNetworkTarget(selection.value, figure, selection.target);
          for (const event of await selectFor(context, selection))
            if (event.type === "figure" && event.figure.kind === "detail") {
              console.log(describeDetail(event.figure) + describeNeuronLife(event.figure));
              if (event.figure.history) console.log(describeHistory(event.figure.history));
            }
        }
        const document = await headlessDocument();
        for (const figure of figures.values()) {
          const path = join(opts.out, l.id, `${section.id}-${figure.id}.svg`);
          let svg: string | undefined;
          if (figure.kind === "graph") svg = await dotToSvg(figure.frames.at(-1)!.dot);
          if (figure.kind === "field")
            svg = svgText(
              decisionBoundary(figure.grid, figure.points, {
                step: figure.step,
                document,
              }),
            );
          if (figure.kind === "line") {
            const byName = series.get(figure.id) ?? new Map();
            const lines = figure.series.map((name) => ({ name, points: byName.get(name) ?? [] }));
            svg = svgText(
              lineChart(lines, { document, yLabel: figure.yLabel ?? "", logY: figure.logY ?? false }),
            );
          }
          if (svg) console.log(`wrote ${writeFileAtomic(path, svg)}`);
          if (figure.kind === "images") {
            const images = figure.images.map((image) => ({
              width: image.width,
              height: image.height,
              rgba: imageRGBA(image, image.scheme ?? figure.scheme ?? "gray"),
            }));
            const scale = Math.max(1, Math.round(figure.scale ?? 1));
            const png = imagesPng(images, { scale, columns: images.length > 4 ? 20 : 4 });
            console.log(`wrote ${writeFileAtomic(path.replace(/\.svg$/, ".png"), png)}`);
          }
          // Tokens have no picture in the terminal: the last frame's tokens, separated by "|".
          if (figure.kind === "tokens") {
            for (const { name, tokens } of figure.frames.at(-1)?.sequences ?? []) {
              const text = tokens.map((t) => t.text.replace(/\n/g, "\\n")).join("|");
              console.log(`${figure.title}${name ? ` — ${name}` : ""}: ${tokens.length} tokens\n${text}`);
            }
          }
        }
      },
    );
}

/** A network's element is [layer, unit], each within the figure's sizes: else a one-line error. */
function checkNetworkTarget(selection: string, figure: NetworkFigure, target: number[]): void {
  const [layer, unit] = target;
  const last = figure.sizes.length - 1;
  if (target.length !== 2 || layer === undefined || unit === undefined)
    throw new Error(`--select ${selection}: a network's element is LAYER,UNIT (layer 0–${last})`);
  if (layer < 0 || layer > last)
    throw new Error(
      `--select ${selection}: layer ${layer} is outside 0–${last} (${figure.id} has ${last + 1} layers)`,
    );
  const n = figure.sizes[layer]!;
  if (unit < 0 || unit >= n)
    throw new Error(
      `--select ${selection}: unit ${unit} is outside 0–${n - 1} (layer ${layer} has ${n} units)`,
    );
}

/** Rows of a history table at most: evenly spread over the recorded steps, the last one always. */
const HISTORY_ROWS = 21;

/**
 * A neuron's life as a table: at recorded steps, its weights' norm, mean activation, dead and
 * saturated fractions, gradient norm and log10 update:data, then its flags at the last step.
 */
export function describeHistory(history: NeuronHistory): string {
  const n = history.steps.length;
  const picked = [
    ...new Set(
      Array.from({ length: Math.min(n, HISTORY_ROWS) }, (_, k) =>
        Math.round((k * (n - 1)) / Math.max(1, Math.min(n, HISTORY_ROWS) - 1)),
      ),
    ),
  ];
  const pct = (v: number | undefined) =>
    v === undefined || Number.isNaN(v) ? "—" : `${(100 * v).toFixed(1)}%`;
  const num = (v: number, digits = 4) =>
    Number.isFinite(v) ? v.toFixed(digits) : Number.isNaN(v) ? "—" : v > 0 ? "inf" : "-inf";
  const header = ["step", "|w|", "mean act", "dead", "saturated", "|grad|", "log10 update:data"];
  const rows = picked.map((s) => [
    String(history.steps[s]),
    num(history.weightNorm[s]!),
    num(history.meanActivation[s]!),
    pct(history.dead?.[s]),
    pct(history.saturated?.[s]),
    num(history.gradNorm[s]!, 5),
    num(history.updateRatio[s]!, 2),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((v, c) => v.padStart(widths[c]!)).join("  ")}`;
  const last = n - 1;
  const flag = unitFlag(history.dead?.[last], history.saturated?.[last]);
  const flagged = history.steps.filter(
    (_, s) => unitFlag(history.dead?.[s], history.saturated?.[s]) !== undefined,
  );
  const flags =
    flag === "dead"
      ? `dead at step ${history.steps[last]}: its ReLU is 0 on the whole batch`
      : flag === "saturated"
        ? `saturated at step ${history.steps[last]}: |tanh| > 0.97 on ${pct(history.saturated?.[last])} of the batch`
        : `not flagged at step ${history.steps[last]} (dead: ReLU 0 on the whole batch; saturated: |tanh| > 0.97 on more than half of it)`;
  return [
    `  its life through training (${n} recorded steps${n > picked.length ? `, ${picked.length} shown` : ""}):`,
    line(header),
    ...rows.map(line),
    `  flags: ${flags}; flagged at ${flagged.length} of ${n} recorded steps`,
  ].join("\n");
}

/** A click asked for on the command line: a figure's element, perhaps with an action. */
export interface Selection {
  flag: string;
  value: string;
  figure: string;
  target: number[];
  action?: string;
}

/**
 * Read --select / --ablate. --select takes figure:i,j (an element of a figure, as the lab's
 * click), LAYER:UNIT (a neuron by number: the experiment's "unit" address) or LAYER:hHEAD (a head);
 * --ablate takes LAYER:UNIT or LAYER:hHEAD, optionally =zero (the default), =mean or =NUMBER.
 */
export function parseSelection(flag: "--select" | "--ablate", value: string): Selection {
  const ablate = flag === "--ablate";
  const forms = ablate
    ? "LAYER:UNIT or LAYER:hHEAD with whole numbers (1:37, 0:h2), optionally =zero, =mean or =NUMBER (1:37=mean, 1:37=2.5)"
    : "figure:i,j (mlp:1,3), LAYER:UNIT (1:37) or LAYER:hHEAD (0:h2), with whole numbers";
  const bad = (why = "") => new Error(`${flag} "${value}": ${why}expected ${forms}`);
  const eq = ablate ? value.indexOf("=") : -1;
  const address = eq >= 0 ? value.slice(0, eq) : value;
  let action: string | undefined;
  if (ablate) {
    const to = eq >= 0 ? value.slice(eq + 1).trim() : "zero";
    if (to === "zero" || to === "mean") action = `ablate-${to}`;
    else if (to !== "" && Number.isFinite(Number(to))) action = `clamp:${Number(to)}`;
    else throw bad(`"${to}" is not zero, mean or a finite number; `);
  }
  const unit = /^\s*(\d+)\s*:\s*(h?)(\d+)\s*$/.exec(address);
  if (unit) {
    const [layer, head, n] = [Number(unit[1]), unit[2] === "h", Number(unit[3])];
    if (head && action?.startsWith("clamp:"))
      throw bad("a head can be set to zero or its mean, not clamped; ");
    return { flag, value, figure: head ? "head" : "unit", target: [layer, n], ...(action ? { action } : {}) };
  }
  if (ablate) throw bad();
  const colon = address.lastIndexOf(":");
  const target = address
    .slice(colon + 1)
    .split(",")
    .map((v) => (v.trim() === "" ? Number.NaN : Number(v.trim())));
  if (colon <= 0 || target.some((v) => !Number.isInteger(v))) throw bad();
  return { flag, value, figure: address.slice(0, colon), target };
}

/** Click as the lab does; an experiment without the address says so, naming the flag. */
async function selectFor(context: ReturnType<typeof collectingContext>, s: Selection): Promise<LabEvent[]> {
  try {
    return await context.select(s.figure, s.target, s.action);
  } catch (error) {
    const message = (error as Error).message;
    if (/answers no selections/.test(message) && (s.figure === "unit" || s.figure === "head"))
      throw new Error(
        `${s.flag} ${s.value}: this experiment has no ${s.figure === "unit" ? "neurons" : "heads"} to ${s.action ? "ablate" : "select"} by number (neurons: lesson 3 mlp, lesson 7 inside, lesson 9 train and gpt2; heads: lesson 7 attention and inside, lesson 9 train and gpt2)`,
      );
    throw new Error(`${s.flag} ${s.value}: ${message}`);
  }
}

/**
 * What a neuron responds to and does, and an intervention's comparison, as text (the parts of a
 * detail the lab draws as contexts, a histogram, pushed tokens and a table).
 */
export function describeNeuronLife(figure: DetailFigure): string {
  const lines: string[] = [];
  const quote = (text: string) => JSON.stringify(text).slice(1, -1);
  if (figure.examples) {
    lines.push(`  ${figure.examples.label}:`);
    figure.examples.contexts.forEach((c, i) => {
      const text = c.tokens.map((t, k) => (k === c.max ? `[[${quote(t.text)}]]` : quote(t.text))).join("");
      lines.push(`    ${String(i + 1).padStart(2)}. ${c.tokens[c.max]!.value.toFixed(3)}  ${text}`);
    });
  }
  if (figure.histogram) {
    const { edges, counts, marks = [] } = figure.histogram;
    const total = counts.reduce((a, b) => a + b, 0);
    const most = Math.max(1, ...counts);
    const bars = counts
      .map((n) => (n === 0 ? " " : "▁▂▃▄▅▆▇█"[Math.min(7, Math.floor((8 * n) / (most + 1)))]))
      .join("");
    lines.push(
      `  ${figure.histogram.label}: ${total} values from ${edges[0]!.toPrecision(4)} to ${edges.at(-1)!.toPrecision(4)} |${bars}|${marks.map((m) => ` ${m.label} ${m.value.toPrecision(4)}`).join(",")}`,
    );
  }
  if (figure.effects) {
    const list = (tokens: { text: string; value: number }[]) =>
      tokens
        .map((t) => `${JSON.stringify(t.text)} ${t.value >= 0 ? "+" : ""}${t.value.toFixed(3)}`)
        .join(", ");
    lines.push(
      `  ${figure.effects.label}:`,
      `    up:   ${list(figure.effects.up)}`,
      `    down: ${list(figure.effects.down)}`,
    );
    if (figure.effects.note) lines.push(`    (${figure.effects.note})`);
  }
  if (figure.compare) {
    const { columns, rows } = figure.compare;
    const width = Math.max(...columns.map((c) => c.length));
    lines.push(`  ${figure.compare.label}:`);
    for (const row of rows) {
      lines.push(`    ${row.label}:`);
      row.cells.forEach((cell, i) => {
        const shown =
          typeof cell === "string"
            ? JSON.stringify(cell)
            : cell.map((t) => `${JSON.stringify(t.text)} ${t.value.toFixed(3)}`).join(", ");
        lines.push(`      ${columns[i]!.padEnd(width)}  ${shown}`);
      });
    }
  }
  if (figure.actions?.length)
    lines.push(
      `  interventions: ${figure.actions.map((a) => `${a.label} (--ablate …=${a.action === "ablate-zero" ? "zero" : a.action === "ablate-mean" ? "mean" : a.action.slice(6)})`).join("; ")}`,
    );
  return lines.length ? `\n${lines.join("\n")}` : "";
}

/** A detail figure as text: its numbers, its formula and the line of code that computes it. */
export function describeDetail(figure: DetailFigure): string {
  const width = Math.max(0, ...figure.values.map((v) => v.label.length));
  const lines = [
    figure.title,
    ...figure.values.map(
      (v) =>
        `  ${v.label.padEnd(width)}  ${typeof v.value === "number" && !Number.isInteger(v.value) ? v.value.toPrecision(6) : v.value}`,
    ),
  ];
  for (const vector of figure.vectors ?? []) {
    const shown = vector.values.slice(0, 8).map((v) => v.toFixed(4));
    lines.push(`  ${vector.label}: [${shown.join(", ")}${vector.values.length > 8 ? ", …" : ""}]`);
  }
  if (figure.tokens)
    lines.push(
      `  ${figure.tokens.label}: ${figure.tokens.tokens.map((t) => `${JSON.stringify(t.text)} ${t.value.toFixed(3)}`).join(", ")}`,
    );
  if (figure.tex) lines.push(`  ${figure.tex}`);
  if (figure.code) {
    const text = cellSource(readFileSync(join(repoRoot, figure.code.file), "utf8"), figure.code);
    const at = findLine(text, figure.code.line);
    const where = figure.code.region ? `#region ${figure.code.region}` : figure.code.symbol;
    lines.push(`  ${figure.code.file} (${where}), line ${at + 1}: ${text.split("\n")[at]!.trim()}`);
  }
  return lines.join("\n");
}
