/**
 * A file parameter's download (a model's weights from Hugging Face): fetched in the page with a
 * progress bar and kept in the browser's Cache Storage, so the next visit reads it from the disk
 * at once. The page address may name another server with the same path layout:
 * ?hf_endpoint=URL (a mirror, or the tests' local server), as Hugging Face's HF_ENDPOINT does.
 */
import type { FileDownload, LessonFile } from "../../lessons/lesson.js";
import { el } from "./figures/view.js";

const CACHE = "herograd-downloads";

/** The URLs of a download, the file first: its base replaced by ?hf_endpoint= when the page has one. */
export function downloadUrls(spec: FileDownload, search = location.search): string[] {
  const endpoint = new URLSearchParams(search).get("hf_endpoint");
  const base = endpoint ? (endpoint.endsWith("/") ? endpoint : `${endpoint}/`) : spec.base;
  return spec.paths.map((path) => new URL(path, base).href);
}

/** Cache Storage exists only in a secure context (https, or localhost). */
function storage(): Promise<Cache> | null {
  return typeof caches === "undefined" ? null : caches.open(CACHE);
}

const fileName = (url: string) => new URL(url).pathname.split("/").pop() || url;

function toLessonFile(urls: string[], bodies: Uint8Array[]): LessonFile {
  const siblings = Object.fromEntries(urls.slice(1).map((url, i) => [fileName(url), bodies[i + 1]!]));
  return { name: fileName(urls[0]!), bytes: bodies[0]!, siblings };
}

/** The files from the browser's storage when all of them are there, else null. */
export async function cachedDownload(spec: FileDownload): Promise<LessonFile | null> {
  const cache = await storage();
  if (!cache) return null;
  const urls = downloadUrls(spec);
  const bodies: Uint8Array[] = [];
  for (const url of urls) {
    const response = await cache.match(url);
    if (!response) return null;
    bodies.push(new Uint8Array(await response.arrayBuffer()));
  }
  return toLessonFile(urls, bodies);
}

/** Whether every file is in the browser's storage (without reading them). */
async function isCached(spec: FileDownload): Promise<boolean> {
  const cache = await storage();
  if (!cache) return false;
  for (const url of downloadUrls(spec)) if (!(await cache.match(url))) return false;
  return true;
}

async function forgetDownload(spec: FileDownload): Promise<void> {
  const cache = await storage();
  if (cache) for (const url of downloadUrls(spec)) await cache.delete(url);
}

/** One URL's body, read chunk by chunk so `progress` can tell how far it got. */
async function fetchBytes(
  url: string,
  expected: number | undefined,
  progress: (done: number, total: number | undefined) => void,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`could not reach ${new URL(url).host} for ${url} (${(error as Error).message})`);
  }
  if (!response.ok || !response.body)
    throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  const length = Number(response.headers.get("content-length"));
  const total = Number.isFinite(length) && length > 0 ? length : expected;
  // One buffer of the announced size (a 548 MB file is not held twice); it grows if the body is
  // longer (a compressed response announces its compressed length).
  let bytes = new Uint8Array(total ?? 1 << 20);
  let done = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    if (done + value.byteLength > bytes.byteLength) {
      const grown = new Uint8Array(Math.max(2 * bytes.byteLength, done + value.byteLength));
      grown.set(bytes.subarray(0, done));
      bytes = grown;
    }
    bytes.set(value, done);
    done += value.byteLength;
    progress(done, total !== undefined ? Math.max(total, done) : undefined);
  }
  return done === bytes.byteLength ? bytes : bytes.slice(0, done);
}

/** Fetch every file (siblings first, they are small), then keep them all in the browser's storage. */
async function download(
  spec: FileDownload,
  progress: (done: number, total: number | undefined) => void,
): Promise<{ file: LessonFile; kept: boolean }> {
  const urls = downloadUrls(spec);
  const bodies: Uint8Array[] = new Array(urls.length);
  for (let i = urls.length - 1; i >= 0; i--)
    bodies[i] = await fetchBytes(urls[i]!, i === 0 ? spec.bytes : undefined, i === 0 ? progress : () => {});
  const cache = await storage();
  let kept = false;
  if (cache) {
    try {
      await navigator.storage?.persist?.();
      for (const [i, url] of urls.entries())
        await cache.put(
          url,
          new Response(bodies[i] as Uint8Array<ArrayBuffer>, {
            headers: { "content-length": String(bodies[i]!.byteLength) },
          }),
        );
      kept = true;
    } catch {
      await forgetDownload(spec); // a full disk: keep nothing half-stored
    }
  }
  return { file: toLessonFile(urls, bodies), kept };
}

const megabytes = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

/**
 * The button, its progress bar and a line of status, for a file parameter with a download:
 * `choose` receives the file (downloaded, or read from the browser's storage).
 */
export function downloadControl(spec: FileDownload, choose: (file: LessonFile) => void): HTMLElement {
  const button = el("button", { type: "button", "data-action": "download" }, `Download ${spec.label}`);
  const bar = el("progress", { max: "1", value: "0", hidden: "" });
  const note = el("span", { class: "download-note", role: "status" });
  const forget = el(
    "button",
    { type: "button", class: "quiet", "data-action": "forget", hidden: "" },
    "Forget",
  );
  const element = el("div", { class: "download", "data-state": "checking" }, button, bar, note, forget);
  const state = (s: string, text: string) => {
    element.dataset.state = s;
    note.textContent = text;
  };
  const showCached = (cached: boolean) => {
    button.textContent = cached
      ? `Load ${spec.label.replace(/ from .*/, "")} from this browser's storage`
      : `Download ${spec.label}`;
    forget.hidden = !cached;
  };
  const size = spec.bytes ? ` (${megabytes(spec.bytes)})` : "";
  void isCached(spec).then((cached) => {
    showCached(cached);
    state(
      cached ? "cached" : "idle",
      cached
        ? "Kept in this browser's storage: loads without the network."
        : typeof caches === "undefined"
          ? `${size.trim()} This page is not a secure context (https or localhost): the download cannot be kept.`
          : `${size.trim()} Fetched once, then kept in this browser's storage.`,
    );
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const cached = await cachedDownload(spec);
      if (cached) {
        state("cached", "Read from this browser's storage.");
        choose(cached);
        return;
      }
      bar.hidden = false;
      state("downloading", "Connecting…");
      const { file, kept } = await download(spec, (done, total) => {
        if (total) bar.value = done / total;
        else bar.removeAttribute("value");
        note.textContent = total ? `${megabytes(done)} of ${megabytes(total)}` : megabytes(done);
      });
      bar.hidden = true;
      showCached(kept);
      state(
        kept ? "cached" : "downloaded",
        kept ? "Downloaded and kept in this browser's storage." : "Downloaded (not kept: no storage here).",
      );
      choose(file);
    } catch (error) {
      bar.hidden = true;
      state("error", (error as Error).message);
    } finally {
      button.disabled = false;
    }
  });
  forget.addEventListener("click", async () => {
    await forgetDownload(spec);
    showCached(false);
    state("idle", `Removed from this browser's storage.`);
  });
  return element;
}
