/**
 * The herograd lab: a home page (#/) and a page per lesson (routed by the URL's hash,
 * #/01-micrograd), each section told as text, math, the real code, and an experiment that runs
 * in a Web Worker. An unknown address says so.
 */
import "katex/dist/katex.min.css";
import "./style.css";
import { type LessonEntry, lessons, upcoming } from "../../lessons/index.js";
import type { Cell, Lesson } from "../../lessons/lesson.js";
import { el } from "./figures/view.js";
import { homePage, notFoundPage } from "./home.js";
import { highlight, renderMath, renderText } from "./markdown.js";
import { ExperimentPanel } from "./panel.js";
import { RunQueue } from "./queue.js";
import { codeCell, codeWhere } from "./sources.js";

const nav = document.querySelector<HTMLElement>("#lessons")!;
const page = document.querySelector<HTMLElement>("#page")!;
let panels: ExperimentPanel[] = [];
let queue: RunQueue | undefined;

function renderNav(current: string | undefined): void {
  const items = [
    ...lessons.map((l) => ({ number: l.number, title: l.title, id: l.id as string | undefined })),
    ...upcoming.map((l) => ({ number: l.number, title: l.title, id: undefined })),
  ].sort((a, b) => a.number - b.number);
  nav.replaceChildren(
    ...items.map((item) => {
      const inner = [el("span", { class: "num" }, String(item.number)), el("span", {}, item.title)];
      if (!item.id)
        return el("li", { class: "soon", title: "this lesson lands with its engine part" }, ...inner);
      const link = el("a", { href: `#/${item.id}` }, ...inner);
      if (item.id === current) link.setAttribute("aria-current", "page");
      return el("li", {}, link);
    }),
  );
}

async function renderCell(cell: Cell): Promise<HTMLElement> {
  switch (cell.kind) {
    case "text": {
      const div = el("div", { class: "cell-text" });
      div.innerHTML = renderText(cell.text);
      return div;
    }
    case "math": {
      const div = el("div", { class: "cell-math" });
      div.innerHTML = renderMath(cell.tex);
      return div;
    }
    case "code": {
      const code = el("code", { class: "language-ts" });
      code.innerHTML = highlight(await codeCell(cell));
      const where = codeWhere(cell);
      // A <details>: open unless the lesson folds it (secondary code stays one click away).
      const details = el(
        "details",
        { class: "cell-code" },
        el(
          "summary",
          {},
          el("span", { class: "file" }, cell.file),
          cell.caption ? ` — ${cell.caption}` : "",
          where ? el("span", { class: "where" }, where) : "",
        ),
        el("pre", {}, code),
      );
      details.open = !cell.collapsed;
      return details;
    }
  }
}

/** The figure gallery, for lesson authors (#/_gallery): not a lesson of the series. */
const galleryEntry: LessonEntry = {
  id: "_gallery",
  number: 0,
  title: "figure gallery",
  load: async () => (await import("./gallery.js")).gallery,
};

/** Stop the experiments of the page shown (a new page gets the cores). */
function clearPage(): void {
  queue?.dispose();
  queue = undefined;
  for (const panel of panels) panel.dispose();
  panels = [];
}

async function renderLesson(entry: LessonEntry): Promise<void> {
  clearPage();
  const pageQueue = new RunQueue();
  queue = pageQueue;
  page.replaceChildren(el("p", { class: "loading" }, "loading…"));
  const lesson: Lesson = await entry.load();
  document.title = `${lesson.number}. ${lesson.title} — herograd lab`;
  const header = el(
    "header",
    { class: "lesson-header" },
    el("p", { class: "kicker" }, lesson.number > 0 ? `Lesson ${lesson.number}` : "For lesson authors"),
    el("h1", {}, lesson.title),
    el("p", { class: "summary" }, lesson.summary),
  );
  if (lesson.lecture) {
    header.append(
      el(
        "p",
        { class: "lecture" },
        "Follows the lecture ",
        el("a", { href: lesson.lecture.url, target: "_blank", rel: "noopener" }, lesson.lecture.title),
      ),
    );
  }
  const toc = el(
    "ol",
    { class: "toc" },
    ...lesson.sections.map((s) => el("li", {}, el("a", { href: `#/${lesson.id}/${s.id}` }, s.title))),
  );
  const sections: HTMLElement[] = [];
  for (const section of lesson.sections) {
    const cells = await Promise.all(section.cells.map(renderCell));
    const element = el(
      "section",
      { class: "lesson-section", id: section.id },
      el("h2", {}, section.title),
      ...cells,
    );
    if (section.experiment) {
      const panel = new ExperimentPanel(lesson.id, section.id, section.experiment, pageQueue);
      panels.push(panel);
      element.append(panel.element);
    }
    sections.push(element);
  }
  page.replaceChildren(header, toc, ...sections);
  page.dataset.lesson = lesson.id;
  // One at a time, in page order; one scrolled into view goes first.
  for (const panel of panels) panel.enqueue();
}

let shownLesson: string | undefined;

function renderPlain(id: string, content: HTMLElement, title: string): void {
  clearPage();
  shownLesson = id;
  document.title = title;
  page.replaceChildren(content);
  page.dataset.lesson = id;
  window.scrollTo(0, 0);
}

async function route(): Promise<void> {
  const [, lessonId, sectionId] = location.hash.split("/");
  if (!lessonId) {
    renderNav(undefined);
    if (shownLesson !== "_home") renderPlain("_home", homePage(lessons), "herograd lab");
    return;
  }
  const entry = lessonId === galleryEntry.id ? galleryEntry : lessons.find((l) => l.id === lessonId);
  if (!entry) {
    renderNav(undefined);
    renderPlain("_not-found", notFoundPage(location.hash), "no such page — herograd lab");
    return;
  }
  renderNav(entry.id);
  if (shownLesson !== entry.id) {
    shownLesson = entry.id;
    await renderLesson(entry);
  }
  if (sectionId) document.getElementById(sectionId)?.scrollIntoView({ behavior: "smooth" });
  else window.scrollTo(0, 0);
}

window.addEventListener("hashchange", () => void route());
void route();
