/** A matrix as coloured cells, drawn with Observable Plot (bigram counts, attention weights). */
import * as Plot from "@observablehq/plot";
import type { HeatmapFigure, Target } from "../../../lessons/lesson.js";
import { CardView, selectHint } from "./view.js";

const fmt = (v: number) =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 1
        ? v.toFixed(1)
        : v.toFixed(2);

/** Plot's 10 px labels: about 6 px a character, 12 px a line. */
const CHAR_PX = 6;
const LINE_PX = 12;
/** The least height of a row that has room for its label. */
const ROW_PX = 14;
const MAX_ROW_PX = 56;
const MAX_HEIGHT_PX = 640;

/** The smallest of 1, 2, 5, 10, 20, 50, … at least `n`. */
function roundStep(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= n) ?? 10 * p;
}

/** A cell's text cut to the characters its cell holds. */
function fit(text: string, chars: number): string {
  const n = Math.max(1, Math.floor(chars));
  return text.length <= n ? text : `${text.slice(0, Math.max(1, n - 1))}…`;
}

/** Above this many cells a matrix is drawn as one image (GPT-2's position embeddings: 1024 × 768). */
const RASTER_CELLS = 16_384;

export class HeatmapView extends CardView<HeatmapFigure> {
  readonly minInterval = 100;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: Target | undefined;

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    selectHint(this.element, onSelect ? hint : undefined, onSelect ? "Click a cell to look inside it." : "");
    this.element.classList.toggle("selectable", onSelect !== undefined);
  }

  setSelected(target: Target | undefined): void {
    this.selected = target;
    this.markSelected();
  }

  /** The cells' rects, in the order of the cells (the first cell mark; later ones outline). */
  private cellRects(): SVGRectElement[] {
    return [...(this.body.querySelector('[aria-label="cell"]')?.querySelectorAll("rect") ?? [])];
  }

  private markSelected(): void {
    const nCols = Math.max(0, ...this.figure.values.map((r) => r.length));
    const [row, col] = this.selected ?? [-1, -1];
    this.cellRects().forEach((rect, k) => {
      const on = Math.floor(k / nCols) === row && k % nCols === col;
      rect.classList.toggle("selected", on);
    });
  }

  draw(): void {
    const {
      values,
      rowLabels,
      colLabels,
      xLabel,
      yLabel,
      scheme = "sequential",
      highlightRows = [],
    } = this.figure;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.figure.caption ?? "";
    const nRows = values.length;
    const nCols = Math.max(0, ...values.map((r) => r.length));
    const width = Math.max(240, this.body.clientWidth || 480);
    if (nRows * nCols > RASTER_CELLS) {
      this.drawRaster(width);
      return;
    }
    const cells = values.flatMap((row, i) => row.map((v, j) => ({ i, j, v })));
    const max = Math.max(1e-12, ...cells.map((c) => Math.abs(c.v)));
    const label = (labels: string[] | undefined) => (i: number) => labels?.[i] ?? String(i);
    // Room on the left for the longest row label.
    const longest = Math.max(0, ...[...Array(nRows).keys()].map((i) => label(rowLabels)(i).length));
    const margin = { top: 30, left: Math.max(40, Math.min(170, 12 + 6.5 * longest)), right: 10, bottom: 10 };
    const cell = Math.max(4, (width - margin.left - margin.right) / Math.max(1, nCols));
    // Rows stay tall enough to point at and to label, however many columns share the width, and
    // no taller than MAX_ROW_PX or a share of MAX_HEIGHT_PX (a few columns across a page would
    // otherwise draw a wall of colour).
    const rowHeight =
      nRows * ROW_PX <= MAX_HEIGHT_PX
        ? Math.max(ROW_PX, Math.min(cell, MAX_ROW_PX, MAX_HEIGHT_PX / nRows))
        : cell;
    const text = this.figure.text === "auto" ? nCols <= 32 && cell >= 18 : (this.figure.text ?? false);
    // Numbers shrink together to fit their cells (a cut number would lie) and are left to the
    // tooltip below 7 px; words (tokens) are cut to their cell with an ellipsis.
    const cellText = (d: { i: number; j: number; v: number }) =>
      this.figure.cellText?.[d.i]?.[d.j] ?? fmt(d.v);
    const numeric = this.figure.cellText === undefined;
    const longestText = Math.max(1, ...cells.map((c) => cellText(c).length));
    const fontSize = Math.min(
      11,
      rowHeight / 2.2,
      numeric ? (0.85 * cell) / (0.62 * longestText) : cell / 2.2,
    );
    const showText = (text || this.figure.cellText !== undefined) && (!numeric || fontSize >= 7);
    // Labels never overprint: every k-th row, and columns at a round step their labels fit in.
    const rowStep = Math.ceil((LINE_PX - 1) / rowHeight);
    const widest = Math.max(1, ...[...Array(nCols).keys()].map((j) => label(colLabels)(j).length));
    const colStep = roundStep((widest * CHAR_PX + 6) / cell);
    const plot = Plot.plot({
      width,
      height: Math.round(margin.top + margin.bottom + rowHeight * nRows),
      marginTop: margin.top,
      marginLeft: margin.left,
      marginRight: margin.right,
      marginBottom: margin.bottom,
      padding: 0.04,
      x: {
        domain: [...Array(nCols).keys()],
        axis: "top",
        label: xLabel ?? null,
        tickFormat: label(colLabels),
        ticks: [...Array(nCols).keys()].filter((j) => j % colStep === 0),
        tickSize: 0,
      },
      y: {
        domain: [...Array(nRows).keys()],
        label: yLabel ?? null,
        tickFormat: label(rowLabels),
        ticks: [...Array(nRows).keys()].filter((i) => i % rowStep === 0),
        tickSize: 0,
      },
      color:
        scheme === "diverging"
          ? { type: "linear", scheme: "RdBu", domain: [-max, max] }
          : { type: "linear", scheme: "blues", domain: [0, max] },
      marks: [
        Plot.cell(cells, {
          x: "j",
          y: "i",
          fill: "v",
          title: (d: { i: number; j: number; v: number }) =>
            `${label(rowLabels)(d.i)} → ${label(colLabels)(d.j)}: ${d.v}`,
        }),
        showText
          ? Plot.text(cells, {
              x: "j",
              y: "i",
              text: (d: { i: number; j: number; v: number }) =>
                fit(cellText(d), (0.9 * cell) / (0.62 * fontSize)),
              fill: (d: { v: number }) => (Math.abs(d.v) / max > 0.55 ? "white" : "#30343a"),
              fontSize,
            })
          : null,
        Plot.cell(
          cells.filter((c) => highlightRows.includes(c.i)),
          { x: "j", y: "i", fill: null, stroke: "#e08a00", strokeWidth: 2, inset: -0.5 },
        ),
      ],
    }) as unknown as Element;
    this.element.dataset.cells = String(cells.length);
    this.body.replaceChildren(plot);
    if (this.onSelect) {
      this.cellRects().forEach((rect, k) => {
        const { i, j } = cells[k]!;
        rect.addEventListener("click", () => this.onSelect?.([i, j]));
      });
    }
    this.markSelected();
  }

  /** A big matrix as one image, a pixel per value, as matplotlib's imshow. */
  private drawRaster(width: number): void {
    const { values, xLabel, yLabel, scheme = "sequential" } = this.figure;
    const nRows = values.length;
    const nCols = Math.max(0, ...values.map((r) => r.length));
    const flat = new Float64Array(nRows * nCols);
    let max = 1e-12;
    for (const [i, row] of values.entries()) {
      for (const [j, v] of row.entries()) {
        flat[i * nCols + j] = v;
        max = Math.max(max, Math.abs(v));
      }
    }
    const margin = { top: 30, left: 46, right: 10, bottom: 10 };
    const plotWidth = width - margin.left - margin.right;
    const height = Math.round(margin.top + margin.bottom + Math.min(640, (plotWidth * nRows) / nCols));
    const plot = Plot.plot({
      width,
      height,
      marginTop: margin.top,
      marginLeft: margin.left,
      marginRight: margin.right,
      marginBottom: margin.bottom,
      x: { domain: [0, nCols], axis: "top", label: xLabel ?? null },
      y: { domain: [0, nRows], reverse: true, label: yLabel ?? null },
      color:
        scheme === "diverging"
          ? { type: "linear", scheme: "RdBu", domain: [-max, max] }
          : { type: "linear", scheme: "blues", domain: [0, max] },
      marks: [
        Plot.raster(flat, {
          width: nCols,
          height: nRows,
          x1: 0,
          x2: nCols,
          y1: 0,
          y2: nRows,
          imageRendering: "pixelated",
        }),
      ],
    }) as unknown as Element;
    this.element.dataset.cells = String(nRows * nCols);
    this.body.replaceChildren(plot);
  }
}
