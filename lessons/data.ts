/**
 * The data sets for lessons, wherever they run: in Node through src/data (HERO_DATA_DIR, else the
 * copy herograd ships), in the lab's worker from the lab server's /data/ folder (the same files).
 */
import { parseWords } from "../src/data/index.js";

const cache = new Map<string, Promise<string>>();

function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

export function loadDatasetText(name: "names" | "tinyshakespeare" | "taylorswift"): Promise<string> {
  let text = cache.get(name);
  if (!text) {
    text = (async () => {
      if (isNode()) {
        // A path in a variable: the browser bundle must not pull in the Node loader.
        const loader = "../src/data/node.js";
        const { loadText } = (await import(
          /* @vite-ignore */ loader
        )) as typeof import("../src/data/node.js");
        return (await loadText(name)).text;
      }
      const response = await fetch(`/data/${name}.txt`);
      if (!response.ok)
        throw new Error(
          `could not load /data/${name}.txt (HTTP ${response.status}) from the lab server (hero lab serves herograd's data/)`,
        );
      return response.text();
    })();
    cache.set(name, text);
  }
  return text;
}

export async function loadNames(): Promise<string[]> {
  return parseWords(await loadDatasetText("names"));
}
