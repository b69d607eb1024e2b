/**
 * The lab's build: a static site in dist/lab that `hero lab` (and `npm start`) serves. Everything
 * it needs is bundled (KaTeX and its fonts, Graphviz as WebAssembly, Observable Plot): no CDN.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Cross-origin isolation, so later lessons can use SharedArrayBuffer (wasm threads). */
export const isolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

/**
 * Minified, but with the names of classes and functions kept: the engine reads them (a layer's
 * kind is its class name, as in PyTorch's repr), and the same code must behave alike in Node.
 */
const keepNames = { keepNames: true };

/**
 * The wasm backend starts its threads from `new URL("./worker.js", import.meta.url)`: right for
 * Node (dist/), but Vite would inline the TypeScript source there. In the lab that URL becomes
 * the bundled worker's (`?worker&url`). The wasm worker's own bundle imports pool.ts too, and must
 * not bundle itself again: there the URL is a blank one it never uses.
 */
function wasmThreadsWorker(): Plugin {
  let insideWasmWorker = false;
  return {
    name: "herograd-wasm-threads-worker",
    enforce: "pre",
    options(options) {
      const input = JSON.stringify(options.input ?? "");
      insideWasmWorker = input.includes("backend/wasm/worker.ts");
      return null;
    },
    transform(code, id) {
      if (!id.replace(/\\/g, "/").endsWith("src/backend/wasm/pool.ts")) return null;
      const from = 'new URL("./worker.js", import.meta.url)';
      if (!code.includes(from))
        throw new Error(`${id}: the wasm worker URL moved; update lab/vite.config.ts`);
      // The wasm worker never starts workers itself: no URL to bundle there.
      if (insideWasmWorker) return { code: code.replace(from, 'new URL("about:blank")'), map: null };
      return {
        code: `import heroWasmWorkerUrl from "./worker.ts?worker&url";\n${code.replace(from, "new URL(heroWasmWorkerUrl, import.meta.url)")}`,
        map: null,
      };
    },
  };
}

/** `npm run lab:dev` serves the data sets herograd ships at /data/FILE, as `hero lab` does. */
function shippedData(): Plugin {
  const files = new Set(["names.txt", "tinyshakespeare.txt", "taylorswift.txt"]);
  return {
    name: "herograd-shipped-data",
    configureServer(server) {
      server.middlewares.use("/data/", (req, res, next) => {
        const file = (req.url ?? "").replace(/^\//, "").split("?")[0]!;
        if (!files.has(file)) return next();
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.end(readFileSync(`${repoRoot}data/${file}`));
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  resolve: {
    // Node-only modules, never used in a page: the headless DOM that src/plot loads for the CLI,
    // and the worker threads the wasm backend's worker imports when it runs in Node.
    alias: {
      linkedom: fileURLToPath(new URL("src/empty.ts", import.meta.url)),
      "node:worker_threads": fileURLToPath(new URL("src/empty.ts", import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL("../dist/lab", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4000,
    reportCompressedSize: false,
    // A loaded CI machine makes plugins look slow; the timing report is noise in the build log.
    rolldownOptions: { checks: { bundlerTimings: false }, output: keepNames },
  },
  plugins: [wasmThreadsWorker(), shippedData()],
  worker: { format: "es", plugins: () => [wasmThreadsWorker()], rolldownOptions: { output: keepNames } },
  server: { headers: isolationHeaders, fs: { allow: [repoRoot] } },
  preview: { headers: isolationHeaders },
});
