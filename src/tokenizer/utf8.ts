/**
 * Text ⇄ UTF-8 bytes, the way Python and tiktoken see them.
 *
 * A JavaScript string is UTF-16 and may hold lone surrogates, which have no UTF-8 form. Python's
 * tiktoken replaces them with U+FFFD before encoding, and so does tiktoken for JavaScript (its
 * TextEncoder does it), so every tokenizer here encodes `text.toWellFormed()`.
 */

const encoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF (TextDecoder drops it by default; Python does not).
// fatal: false replaces each maximal invalid subpart with U+FFFD, as Python's errors="replace".
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export function toWellFormed(text: string): string {
  const native = (text as { toWellFormed?: () => string }).toWellFormed;
  if (native) return native.call(text);
  return text.replace(loneSurrogate, "\uFFFD");
}

/** Bytes as a "binary string" (one char per byte): a cheap, exact Map key for a byte sequence. */
export function bytesKey(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let key = "";
  for (let i = start; i < end; i++) key += String.fromCharCode(bytes[i]!);
  return key;
}

export function keyBytes(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** minbpe's replace_control_characters: control and other category-C characters as \uXXXX. */
export function replaceControlCharacters(s: string): string {
  let out = "";
  for (const ch of s) {
    out += /\p{C}/u.test(ch) ? `\\u${ch.codePointAt(0)!.toString(16).padStart(4, "0")}` : ch;
  }
  return out;
}

/** minbpe's render_token: a token's bytes as printable text (invalid UTF-8 shown as U+FFFD). */
export function renderToken(bytes: Uint8Array): string {
  return replaceControlCharacters(utf8Decode(bytes));
}

/** Whether `bytes` ends on a character boundary (no multi-byte sequence left open at the end). */
export function endsOnCharBoundary(bytes: Uint8Array): boolean {
  // Look back at most 3 bytes for the lead byte of the last sequence.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if (b < 0x80) return back === 1;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return back >= need;
    }
  }
  return true;
}
