/**
 * Images side by side, each on a canvas a pixel per value (a game's frames, a layer's weights as
 * pictures, as Karpathy draws the first layer of his Pong policy). With a selection handler
 * each image can be clicked, and the chosen one is outlined.
 */
import type { Figure, ImagesFigure, Target } from "../../../lessons/lesson.js";
import { imageRGBA, type PixelScheme } from "../../../src/plot/pixels.js";
import { CardView, el, selectHint } from "./view.js";

export class ImagesView extends CardView<ImagesFigure> {
  readonly minInterval = 40;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: number | undefined;
  private readonly grid = el("div", { class: "image-grid" });
  private canvases: HTMLCanvasElement[] = [];

  constructor(figure: ImagesFigure) {
    super(figure);
    this.body.append(this.grid);
  }

  override update(figure: Figure): void {
    super.update(figure);
  }

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    selectHint(
      this.element,
      onSelect ? hint : undefined,
      onSelect ? "Click an image to look inside it." : "",
    );
    this.element.classList.toggle("selectable", onSelect !== undefined);
  }

  setSelected(target: Target | undefined): void {
    this.selected = target?.[0];
    this.canvases.forEach((c, i) => {
      c.parentElement?.classList.toggle("selected", i === this.selected);
    });
  }

  draw(): void {
    const { images, scheme = "gray", scale = 1 } = this.figure;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.figure.caption ?? "";
    // Reuse the canvases while the layout stays: a game drawn 25 times a second.
    if (this.canvases.length !== images.length) {
      this.canvases = images.map((_, i) => {
        const canvas = el("canvas", { class: "image", "data-image": String(i) });
        canvas.addEventListener("click", () => this.onSelect?.([i]));
        return canvas;
      });
      this.grid.replaceChildren(
        ...this.canvases.map((canvas, i) =>
          el(
            "div",
            { class: "image-cell" },
            canvas,
            el("span", { class: "image-label" }, images[i]?.label ?? ""),
          ),
        ),
      );
      this.setSelected(this.selected === undefined ? undefined : [this.selected]);
    }
    images.forEach((image, i) => {
      const canvas = this.canvases[i]!;
      (canvas.nextElementSibling as HTMLElement).textContent = image.label ?? "";
      if (canvas.width !== image.width || canvas.height !== image.height) {
        canvas.width = image.width;
        canvas.height = image.height;
        canvas.style.width = `${image.width * scale}px`;
        canvas.style.height = `${image.height * scale}px`;
      }
      const context = canvas.getContext("2d");
      if (!context) return;
      context.putImageData(toImageData(image, image.scheme ?? scheme), 0, 0);
    });
    this.element.dataset.images = String(images.length);
  }
}

function toImageData(image: ImagesFigure["images"][number], scheme: PixelScheme): ImageData {
  return new ImageData(imageRGBA(image, scheme), image.width, image.height);
}
