/**
 * The lab's web server: static files of the built lab (dist/lab) and nothing else, on 127.0.0.1
 * unless another host is asked for. Every response is cross-origin isolated (COOP + COEP), which
 * the browser requires before it lends SharedArrayBuffer to wasm threads.
 *
 * Requests that could name a file outside the root get 404 before the file system is touched: any
 * "..", any encoded dot, slash or backslash (%2e, %2f, %5c, and %25, which hides them one level
 * down), NUL bytes and backslashes. What remains is resolved, and its real path (links followed)
 * must still lie inside the root.
 */
import { createReadStream, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";

export const isolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
} as const;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".safetensors": "application/octet-stream",
};

export interface LabServerOptions {
  /** The built lab (index.html and assets/). */
  root: string;
  /** Interface to listen on; 127.0.0.1 unless asked for explicitly. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * Data files a lesson may fetch, by URL path under /data/ (e.g. { "names.txt": "/abs/path" }):
   * an explicit list, never a directory.
   */
  data?: Record<string, string>;
}

export interface LabServer {
  server: Server;
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The file a URL path names inside root, or undefined (then the answer is 404). Pure apart from
 * the final realpath check, so the rules can be read in one place.
 */
export function resolveRequestPath(root: string, rawUrl: string): string | undefined {
  const rawPath = rawUrl.split(/[?#]/, 1)[0] ?? "";
  if (!rawPath.startsWith("/")) return undefined;
  // Encoded ".", "/", "\" or "%" (double encoding) never name a lab file: refuse them outright.
  if (/%(2e|2f|5c|25|00)/i.test(rawPath)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  const segments = path.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return undefined;
  if (path.endsWith("/")) path += "index.html";
  const base = resolve(root);
  const full = resolve(join(base, path));
  if (full !== base && !full.startsWith(base + sep)) return undefined;
  return full;
}

function inside(root: string, file: string): boolean {
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(file);
    return real.startsWith(realRoot + sep);
  } catch {
    return false;
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", ...isolationHeaders });
  res.end("not found\n");
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      notFound(res);
      return;
    }
    size = stat.size;
  } catch {
    notFound(res);
    return;
  }
  const hashed = file.includes(`${sep}assets${sep}`); // Vite's content-hashed names never change
  res.writeHead(200, {
    "Content-Type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": size,
    "Cache-Control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
    "X-Content-Type-Options": "nosniff",
    ...isolationHeaders,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file)
    .on("error", () => res.destroy())
    .pipe(res);
}

export function labRequestHandler(options: Pick<LabServerOptions, "root" | "data">) {
  const root = resolve(options.root);
  const data = options.data ?? {};
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", ...isolationHeaders });
      res.end();
      return;
    }
    const url = req.url ?? "/";
    const dataMatch = /^\/data\/([A-Za-z0-9._-]+)$/.exec(url.split(/[?#]/, 1)[0] ?? "");
    if (dataMatch && !dataMatch[1]!.startsWith(".") && Object.hasOwn(data, dataMatch[1]!)) {
      sendFile(req, res, resolve(data[dataMatch[1]!]!));
      return;
    }
    const file = resolveRequestPath(root, url);
    if (file && inside(root, file)) sendFile(req, res, file);
    else notFound(res);
  };
}

/** Start serving; resolves once listening, with the URL to open. */
export async function startLabServer(options: LabServerOptions): Promise<LabServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer(labRequestHandler(options));
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    server,
    host,
    port,
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
