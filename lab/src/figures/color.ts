/** Colours of the lab's figures: one diverging scale for weights, one for activations. */

type RGB = [number, number, number];

const NEUTRAL: RGB = [247, 247, 245];
const POSITIVE: RGB = [37, 99, 171]; // blue
const NEGATIVE: RGB = [196, 58, 49]; // red
const ACTIVE: RGB = [238, 152, 28]; // amber
const INHIBITED: RGB = [111, 76, 155]; // violet

function mix(a: RGB, b: RGB, t: number): string {
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** t in [-1, 1]: red for negative, blue for positive. */
export function weightColor(t: number): string {
  const s = Math.max(-1, Math.min(1, t));
  return mix(NEUTRAL, s >= 0 ? POSITIVE : NEGATIVE, 0.25 + 0.75 * Math.abs(s));
}

/** t in [-1, 1]: white at 0, amber when active, violet when negative. */
export function activationColor(t: number): string {
  const s = Math.max(-1, Math.min(1, t));
  return mix(NEUTRAL, s >= 0 ? ACTIVE : INHIBITED, Math.abs(s));
}
