/**
 * The lessons of the series, in order. A lesson is one file in this folder (see lesson.ts for the
 * format) plus one line here; the lab's navigation, its worker and the CLI all read this list.
 * Lessons load on demand, so a page only pays for the engine parts its lesson uses.
 */
import type { Lesson } from "./lesson.js";

export interface LessonEntry {
  id: string;
  number: number;
  title: string;
  load(): Promise<Lesson>;
}

export const lessons: LessonEntry[] = [
  {
    id: "01-micrograd",
    number: 1,
    title: "micrograd",
    load: async () => (await import("./01-micrograd.js")).lesson,
  },
  {
    id: "02-bigram",
    number: 2,
    title: "makemore: bigrams",
    load: async () => (await import("./02-bigram.js")).lesson,
  },
  {
    id: "03-mlp",
    number: 3,
    title: "makemore: MLP",
    load: async () => (await import("./03-mlp.js")).lesson,
  },
  {
    id: "04-activations",
    number: 4,
    title: "activations & BatchNorm",
    load: async () => (await import("./04-activations.js")).lesson,
  },
  {
    id: "05-backprop-ninja",
    number: 5,
    title: "backprop ninja",
    load: async () => (await import("./05-backprop-ninja.js")).lesson,
  },
  {
    id: "06-wavenet",
    number: 6,
    title: "WaveNet",
    load: async () => (await import("./06-wavenet.js")).lesson,
  },
  {
    id: "07-gpt",
    number: 7,
    title: "GPT from scratch",
    load: async () => (await import("./07-gpt.js")).lesson,
  },
  {
    id: "08-tokenizer",
    number: 8,
    title: "tokenizer",
    load: async () => (await import("./08-tokenizer.js")).lesson,
  },
  {
    id: "09-gpt2",
    number: 9,
    title: "GPT-2",
    load: async () => (await import("./09-gpt2.js")).lesson,
  },
  {
    id: "10-pong",
    number: 10,
    title: "Pong from pixels",
    load: async () => (await import("./10-pong.js")).lesson,
  },
];

/** Lessons still to come, shown greyed in the lab: each moves into `lessons` when its engine part lands. */
export const upcoming: { number: number; title: string }[] = [];

export function findLesson(id: string): LessonEntry | undefined {
  return lessons.find((l) => l.id === id || String(l.number) === id || l.title === id);
}

export type * from "./lesson.js";
