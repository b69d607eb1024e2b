/**
 * The lab's build: a static site in dist/lab that `hero lab` (and `npm start`) serves. Everything
 * it needs is bundled (KaTeX and its fonts, Graphviz as WebAssembly, Observable Plot): no CDN.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

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

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  resolve: {
    // The Node-only headless DOM that src/plot loads for the CLI: never used in a page.
    alias: { linkedom: fileURLToPath(new URL("src/empty.ts", import.meta.url)) },
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
  worker: { format: "es", rolldownOptions: { output: keepNames } },
  server: { headers: isolationHeaders, fs: { allow: [repoRoot] } },
  preview: { headers: isolationHeaders },
});
