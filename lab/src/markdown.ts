/** The lessons' text: a small Markdown subset with $inline$ math (KaTeX), and TypeScript colouring. */
import katex from "katex";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Paragraphs (blank lines), `code`, **bold**, *italic*, [links](url) and $math$. */
export function renderText(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => `<p>${inline(paragraph.trim())}</p>`)
    .join("");
}

function inline(text: string): string {
  const held: string[] = [];
  const hold = (html: string) => `\uE000${held.push(html) - 1}\uE000`;
  let s = text
    .replace(/\$([^$]+)\$/g, (_, tex: string) => hold(katex.renderToString(tex, { throwOnError: false })))
    .replace(/`([^`]+)`/g, (_, code: string) => hold(`<code>${escapeHtml(code)}</code>`));
  s = escapeHtml(s)
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\*([^*]+)\*/g, "<em>$1</em>")
    .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
  return s.replace(/\uE000(\d+)\uE000/g, (_, i: string) => held[Number(i)]!);
}

export function renderMath(tex: string): string {
  return katex.renderToString(tex, { displayMode: true, throwOnError: false });
}

const KEYWORDS =
  "async|await|break|case|catch|class|const|continue|default|do|else|export|extends|for|from|function|if|implements|import|in|interface|let|new|of|private|readonly|return|static|switch|this|throw|try|type|typeof|while";

const TOKENS = new RegExp(
  [
    "(\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?\\*\\/)", // 1 comment
    "(\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\\n]|\\\\.)*'|`(?:[^`\\\\]|\\\\.)*`)", // 2 string
    "\\b(\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)\\b", // 3 number
    `\\b(${KEYWORDS})\\b`, // 4 keyword
    "\\b([A-Z][A-Za-z0-9_]*)\\b", // 5 type or class
  ].join("|"),
  "g",
);

/** TypeScript source as HTML with spans for comments, strings, numbers, keywords and types. */
export function highlight(code: string): string {
  let html = "";
  let last = 0;
  for (const m of code.matchAll(TOKENS)) {
    html += escapeHtml(code.slice(last, m.index));
    const kind = m[1] ? "com" : m[2] ? "str" : m[3] ? "num" : m[4] ? "kw" : "type";
    html += `<span class="tok-${kind}">${escapeHtml(m[0])}</span>`;
    last = m.index + m[0].length;
  }
  return html + escapeHtml(code.slice(last));
}
