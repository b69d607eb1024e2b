/** Stands in for Node-only modules in the browser bundle (see vite.config.ts). */
export function parseHTML(): never {
  throw new Error("a headless DOM is not available in the browser: figures draw into the page");
}
