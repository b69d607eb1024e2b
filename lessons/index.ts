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
];

/** Lessons still to come, shown greyed in the lab: each moves into `lessons` when its engine part lands. */
export const upcoming: { number: number; title: string }[] = [
  { number: 2, title: "makemore: bigrams" },
  { number: 3, title: "makemore: MLP" },
  { number: 4, title: "activations & BatchNorm" },
  { number: 5, title: "backprop ninja" },
  { number: 6, title: "WaveNet" },
  { number: 7, title: "GPT from scratch" },
  { number: 8, title: "tokenizer" },
  { number: 9, title: "GPT-2" },
];

export function findLesson(id: string): LessonEntry | undefined {
  return lessons.find((l) => l.id === id || String(l.number) === id || l.title === id);
}

export type * from "./lesson.js";
