/**
 * What the lab layout test measures on a page, run inside the page (page.evaluate): every problem
 * found as one line naming the figure ("02-bigram/loss: …"). Self-contained: Playwright sends the
 * function's source, so it may not call anything outside itself.
 */

export interface LayoutOptions {
  /** Check the page only (no sideways scroll), not the figures (the phone width). */
  pageOnly?: boolean;
}

export function layoutProblems(options: LayoutOptions = {}): string[] {
  const problems: string[] = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    // Name what sticks out (not clipped by a box of its own), so the failure says what to fix.
    const clipped = (e: Element) => {
      for (let p = e.parentElement; p; p = p.parentElement)
        if (/auto|hidden|scroll|clip/.test(getComputedStyle(p).overflowX)) return true;
      return false;
    };
    const wide = [...document.querySelectorAll<HTMLElement>("#page *")]
      .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1 && !clipped(e))
      .slice(0, 4)
      .map(
        (e) =>
          `<${e.tagName.toLowerCase()} class="${e.getAttribute("class") ?? ""}"> to ${Math.round(e.getBoundingClientRect().right)}`,
      );
    problems.push(
      `the page scrolls sideways: ${root.scrollWidth} px of content in ${root.clientWidth} (${wide.join("; ")})`,
    );
  }
  if (options.pageOnly) return problems;

  const name = (figure: HTMLElement) =>
    `${figure.closest<HTMLElement>(".experiment")?.dataset.experiment ?? "?"}/${figure.dataset.figure ?? figure.dataset.kind}`;
  const shown = (r: DOMRect) => r.width > 0.5 && r.height > 0.5;
  const label = (t: string) => JSON.stringify(t.length > 24 ? `${t.slice(0, 24)}…` : t);

  for (const figure of document.querySelectorAll<HTMLElement>(".figure")) {
    const where = name(figure);
    const box = figure.getBoundingClientRect();
    if (!shown(box)) continue;

    // What of a rect a box that scrolls shows: text scrolled out of view overlaps nothing.
    const scrollers = [...figure.querySelectorAll<HTMLElement>("*")].filter((e) =>
      /auto|scroll|hidden/.test(getComputedStyle(e).overflow),
    );
    const visible = (node: Element, r: DOMRect): DOMRect | undefined => {
      let { left, top, right, bottom } = r;
      for (const s of scrollers) {
        if (!s.contains(node)) continue;
        const c = s.getBoundingClientRect();
        left = Math.max(left, c.left);
        top = Math.max(top, c.top);
        right = Math.min(right, c.right);
        bottom = Math.min(bottom, c.bottom);
      }
      return right - left > 0.5 && bottom - top > 0.5
        ? new DOMRect(left, top, right - left, bottom - top)
        : undefined;
    };
    // Text: each SVG <text> and each run of HTML text (KaTeX stacks its glyph boxes on purpose).
    const texts: { text: string; rect: DOMRect }[] = [];
    for (const text of figure.querySelectorAll<SVGTextElement>("svg text")) {
      const content = text.textContent?.trim() ?? "";
      const rect = visible(text, text.getBoundingClientRect());
      if (content && rect) texts.push({ text: content, rect });
    }
    const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      const content = node.textContent?.trim() ?? "";
      if (!parent || !content || parent.closest("svg, .katex, title, style, script, option")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      // One rect per line: a wrapped label's lines never overlap each other.
      const rects = [...range.getClientRects()].filter(shown);
      const first = rects[0] && visible(parent, rects[0]);
      if (first) texts.push({ text: content, rect: first });
    }
    // Tops and bottoms of a font's box carry its line gap: two lines 1-2 px apart do not overprint.
    const overlaps: string[] = [];
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i]!.rect;
        const b = texts[j]!.rect;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > Math.min(3, 0.25 * Math.min(a.height, b.height)))
          overlaps.push(`${label(texts[i]!.text)} and ${label(texts[j]!.text)}`);
      }
    }
    if (overlaps.length > 0)
      problems.push(
        `${where}: ${overlaps.length} pairs of labels overlap: ${overlaps.slice(0, 3).join("; ")}`,
      );

    // Drawn at its laid-out size: an SVG or canvas shrunk by CSS (its text shrinks with it).
    for (const drawing of figure.querySelectorAll<SVGSVGElement | HTMLCanvasElement>("svg, canvas")) {
      if (drawing instanceof SVGSVGElement && drawing.ownerSVGElement) continue; // nested
      if (drawing.closest(".katex")) continue;
      const laid =
        drawing instanceof HTMLCanvasElement
          ? Number.parseFloat(drawing.style.width) || drawing.width // a picture sized on purpose
          : drawing.width.baseVal.value || drawing.viewBox.baseVal?.width || 0;
      const drawn = drawing.getBoundingClientRect().width;
      // A diagram scaled to fit its place on purpose: its labels must stay readable (8 px).
      if (drawing.dataset.fit === "scaled") {
        const small = [...drawing.querySelectorAll("text")].filter((t) => {
          const h = t.getBoundingClientRect().height;
          return h > 0 && h < 8;
        });
        if (small.length > 0)
          problems.push(`${where}: a diagram scaled to fit draws ${small.length} labels under 8 px high`);
        continue;
      }
      if (laid > 0 && drawn > 0 && drawn < 0.9 * laid)
        problems.push(
          `${where}: a ${drawing.tagName.toLowerCase()} laid out ${Math.round(laid)} px wide is drawn at ${Math.round(drawn)} px (${Math.round((100 * drawn) / laid)}%)`,
        );
    }

    // SVG text inside its drawing (an SVG clips what falls outside it).
    const cut: string[] = [];
    for (const text of figure.querySelectorAll<SVGTextElement>("svg text")) {
      const owner = text.ownerSVGElement;
      const content = text.textContent?.trim() ?? "";
      if (!owner || !content) continue;
      const r = text.getBoundingClientRect();
      const o = owner.getBoundingClientRect();
      if (!shown(r)) continue;
      if (r.left < o.left - 1 || r.right > o.right + 1 || r.top < o.top - 1 || r.bottom > o.bottom + 1)
        cut.push(label(content));
    }
    if (cut.length > 0)
      problems.push(
        `${where}: ${cut.length} labels cut at the edge of their drawing: ${cut.slice(0, 3).join(", ")}`,
      );

    // Content clipped by a box: every overflowing box inside the figure scrolls, with a scrollbar
    // that takes room (an overlay scrollbar is invisible until one scrolls).
    for (const e of [figure, ...figure.querySelectorAll<HTMLElement>("*")]) {
      if (!(e instanceof HTMLElement) || e.closest(".katex")) continue;
      const style = getComputedStyle(e);
      for (const axis of ["x", "y"] as const) {
        const over = axis === "x" ? e.scrollWidth - e.clientWidth : e.scrollHeight - e.clientHeight;
        if (over <= 1) continue;
        const overflow = axis === "x" ? style.overflowX : style.overflowY;
        if (overflow === "visible") {
          // A box that scrolls holds it (and is checked itself).
          if (scrollers.some((s) => s !== e && s.contains(e))) continue;
          // Spills out of its box: clipped unless the figure itself still holds it.
          const r = e.getBoundingClientRect();
          const spill = axis === "x" ? e.scrollWidth > figure.clientWidth + 1 : false;
          if (spill && r.left + e.scrollWidth > box.right + 1)
            problems.push(`${where}: <${e.tagName.toLowerCase()}> spills ${over} px out of the figure`);
          continue;
        }
        const bar = axis === "x" ? e.offsetHeight - e.clientHeight : e.offsetWidth - e.clientWidth;
        const borders =
          axis === "x"
            ? Number.parseFloat(style.borderTopWidth) + Number.parseFloat(style.borderBottomWidth)
            : Number.parseFloat(style.borderLeftWidth) + Number.parseFloat(style.borderRightWidth);
        const scrolls = overflow === "auto" || overflow === "scroll";
        if (!scrolls || bar - borders < 4)
          problems.push(
            `${where}: <${e.tagName.toLowerCase()} class="${e.getAttribute("class") ?? ""}"> hides ${over} px (${axis === "x" ? "wide" : "tall"}, overflow ${overflow}) without a visible scrollbar`,
          );
      }
    }
  }
  // The same problem of many elements (200 images of one figure) once, with its count.
  const counts = new Map<string, number>();
  for (const p of problems) counts.set(p, (counts.get(p) ?? 0) + 1);
  return [...counts].map(([p, n]) => (n > 1 ? `${p} (× ${n})` : p));
}
