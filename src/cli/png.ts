/** PNG files for the CLI's image figures: RGBA rows, each behind a filter byte, deflated (node:zlib). */
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGBA PNG of width × height pixels, row by row. */
export function encodePng(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  if (rgba.length !== width * height * 4)
    throw new RangeError(
      `encodePng: ${width} × ${height} RGBA needs ${width * height * 4} bytes, got ${rgba.length}`,
    );
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA, deflate, adaptive filters, no interlace
  const raw = new Uint8Array(height * (1 + 4 * width));
  for (let y = 0; y < height; y++)
    raw.set(rgba.subarray(y * 4 * width, (y + 1) * 4 * width), y * (1 + 4 * width) + 1);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

/** Images side by side in rows (a gap between them), each scaled by `scale`: one PNG. */
export function imagesPng(
  images: { width: number; height: number; rgba: Uint8ClampedArray }[],
  { scale = 1, columns = 10, gap = 2 }: { scale?: number; columns?: number; gap?: number } = {},
): Uint8Array {
  const cellW = Math.max(...images.map((i) => i.width)) * scale;
  const cellH = Math.max(...images.map((i) => i.height)) * scale;
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const width = cols * cellW + (cols - 1) * gap;
  const height = rows * cellH + (rows - 1) * gap;
  const out = new Uint8ClampedArray(width * height * 4).fill(255);
  images.forEach((image, k) => {
    const ox = (k % cols) * (cellW + gap);
    const oy = Math.floor(k / cols) * (cellH + gap);
    for (let y = 0; y < image.height * scale; y++) {
      for (let x = 0; x < image.width * scale; x++) {
        const from = 4 * (Math.floor(y / scale) * image.width + Math.floor(x / scale));
        out.set(image.rgba.subarray(from, from + 4), 4 * ((oy + y) * width + ox + x));
      }
    }
  });
  return encodePng(width, height, out);
}
