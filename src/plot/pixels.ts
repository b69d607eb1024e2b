/**
 * Images as pixels, shared by the lab (a canvas) and the CLI (a PNG): a value per pixel mapped to
 * grey or to the lab's red–white–blue weight colours, or RGB bytes as they are.
 */

export type PixelScheme = "gray" | "diverging" | "rgb";

export interface PixelImage {
  width: number;
  height: number;
  pixels: ArrayLike<number>;
}

const POSITIVE = [37, 99, 171]; // blue, the lab's positive weight
const NEGATIVE = [196, 58, 49]; // red

/** RGBA bytes of an image: "gray" 0 → black, the largest value → white; "diverging" 0 → white. */
export function imageRGBA(
  { width, height, pixels }: PixelImage,
  scheme: PixelScheme,
): Uint8ClampedArray<ArrayBuffer> {
  const n = width * height;
  const expected = scheme === "rgb" ? 3 * n : n;
  if (pixels.length !== expected)
    throw new RangeError(
      `an image of ${width} × ${height} (${scheme}) needs ${expected} values, got ${pixels.length}`,
    );
  const out = new Uint8ClampedArray(4 * n);
  if (scheme === "rgb") {
    for (let p = 0; p < n; p++) {
      out[4 * p] = pixels[3 * p]!;
      out[4 * p + 1] = pixels[3 * p + 1]!;
      out[4 * p + 2] = pixels[3 * p + 2]!;
      out[4 * p + 3] = 255;
    }
    return out;
  }
  let max = 1e-12;
  for (let p = 0; p < n; p++) max = Math.max(max, Math.abs(pixels[p]!));
  for (let p = 0; p < n; p++) {
    const t = pixels[p]! / max;
    if (scheme === "gray") {
      out[4 * p] = out[4 * p + 1] = out[4 * p + 2] = 255 * Math.max(0, t);
    } else {
      const c = t >= 0 ? POSITIVE : NEGATIVE;
      const a = Math.min(1, Math.abs(t));
      out[4 * p] = 255 + (c[0]! - 255) * a;
      out[4 * p + 1] = 255 + (c[1]! - 255) * a;
      out[4 * p + 2] = 255 + (c[2]! - 255) * a;
    }
    out[4 * p + 3] = 255;
  }
  return out;
}
