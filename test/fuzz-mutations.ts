/**
 * Seeded mutations shared by the fuzz tests: bytes flipped, truncated, junk appended, JSON fields
 * set to wild values or the text broken, safetensors headers and length prefixes, text files line
 * by line. Bound to one generator, so a test's sequence of mutations is the same on every run.
 */
import type { Random } from "../src/random/index.js";

export function mutations(rng: Random) {
  const pick = <T>(xs: readonly T[]): T => xs[rng.randint(0, xs.length)]!;
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  /** Values a mutated field takes: wrong types, negative, huge, fractional, past the ends. */
  const WILD: unknown[] = [
    -1,
    -(2 ** 31),
    0,
    1,
    3,
    2 ** 31,
    2 ** 32 + 1,
    2 ** 53,
    2 ** 62,
    1e300,
    -1e300,
    0.5,
    Number.MAX_SAFE_INTEGER,
    "12",
    "",
    "F32",
    null,
    true,
    [],
    [1, 2],
    [-1],
    [2 ** 40, 2 ** 40],
    [1e9, 1e9, 1e9],
    {},
    { s: [1, 2, 3, 4] },
  ];

  function byteMutation(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes);
    const kind = rng.randint(0, 5);
    if (kind === 0) return bytes.subarray(0, rng.randint(0, bytes.length)); // truncate
    if (kind === 1) {
      for (let k = rng.randint(1, 8); k > 0; k--) out[rng.randint(0, out.length)] = rng.randint(0, 256);
      return out;
    }
    if (kind === 2) {
      // overwrite a run near the start (length prefixes, magic, header)
      const at = rng.randint(0, Math.min(out.length, 64));
      for (let k = 0; k < 8 && at + k < out.length; k++)
        out[at + k] = pick([0, 0xff, 0x7f, 0x80, 0x22, 0x7b]);
      return out;
    }
    if (kind === 3) return new Uint8Array([...bytes, ...bytes.subarray(0, rng.randint(0, 64))]); // junk appended
    // a block copied over another place
    const to = rng.randint(0, out.length);
    const from = rng.randint(0, out.length);
    out.set(bytes.slice(from, from + Math.min(out.length - to, rng.randint(1, 64))), to);
    return out;
  }

  /** Mutate a random field somewhere in a JSON value (in place). */
  function mutateJson(value: unknown, depth = 0): unknown {
    if (typeof value !== "object" || value === null || depth > 4 || rng.random() < 0.15) return pick(WILD);
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 0 || rng.random() < 0.05) {
      obj[pick(["extra", "__metadata__", "0", "dtype"])] = pick(WILD);
      return obj;
    }
    const k = pick(keys);
    if (rng.random() < 0.1) delete obj[k];
    else obj[k] = mutateJson(obj[k], depth + 1);
    return obj;
  }

  /** A JSON text broken in one of a few ways. */
  function breakJson(text: string): string {
    const kind = rng.randint(0, 4);
    if (kind === 0) return text.slice(0, rng.randint(0, text.length));
    if (kind === 1) {
      const at = rng.randint(0, text.length);
      return (
        text.slice(0, at) +
        pick(["{", "}", '"', ",", "\\", "\u0000", "]", "[[[[[[[[", "1e999"]) +
        text.slice(at)
      );
    }
    if (kind === 2) return "[".repeat(rng.randint(1, 100_000));
    return text.replace(/\d+/, pick(["-5", "1e400", "99999999999999999999", "0x10"]));
  }

  function mutateSafetensors(base: Uint8Array): Uint8Array {
    const kind = rng.randint(0, 4);
    if (kind === 0) return byteMutation(base);
    const n = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
    const headerText = dec.decode(base.subarray(8, 8 + n));
    const data = base.subarray(8 + n);
    let header = headerText;
    if (kind === 1) header = breakJson(headerText);
    else if (kind === 2) header = JSON.stringify(mutateJson(JSON.parse(headerText)));
    const json = enc.encode(header);
    const out = new Uint8Array(8 + json.length + data.length);
    // The length prefix: right, or huge, "negative", off by a little, or past the end.
    const lengths = [
      BigInt(json.length),
      BigInt(json.length),
      2n ** 64n - 1n,
      2n ** 63n,
      BigInt(json.length) + 7n,
      BigInt(json.length) - 3n,
      BigInt(out.length),
      0n,
    ];
    const length = kind === 3 ? pick(lengths) : BigInt(json.length);
    new DataView(out.buffer).setBigUint64(0, length < 0n ? 0n : length, true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  }

  /** A text file mutated line by line or byte by byte. */
  function mutateText(text: string): string {
    const lines = text.split("\n");
    const kind = rng.randint(0, 7);
    const at = rng.randint(0, lines.length);
    if (kind === 0) lines.splice(at, 1);
    else if (kind === 1) lines.splice(at, 0, lines[rng.randint(0, lines.length)]!);
    else if (kind === 2) {
      const other = rng.randint(0, lines.length);
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
    } else if (kind === 3)
      lines[at] = lines[at]!.replace(
        /-?\d+/,
        pick(["-1", "99999999999999", "1e9", "4294967296", "NaN", "", "0", "256", "1000000000"]),
      );
    else if (kind === 4)
      lines[at] = pick(["", "   ", "a b c", "\u0000", "==== 1", "!!!! -3", `${lines[at]} 7`]);
    else if (kind === 5) return text.slice(0, rng.randint(0, text.length));
    else return dec.decode(byteMutation(enc.encode(text)));
    return lines.join("\n");
  }

  return { WILD, pick, byteMutation, mutateJson, breakJson, mutateSafetensors, mutateText };
}
