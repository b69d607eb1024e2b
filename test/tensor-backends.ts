/**
 * The backends the tensor suites run on: every registered backend, or those named in
 * HERO_TEST_BACKENDS (comma-separated). A new backend registers by being imported here; the same
 * suites then test it. Suites that read values synchronously ask for synchronous backends only.
 */
import { backendNames, getBackend } from "../src/tensor/index.js";

export function testBackends(kind: "all" | "synchronous" = "synchronous"): string[] {
  const wanted = process.env.HERO_TEST_BACKENDS?.split(",").map((s) => s.trim());
  return backendNames().filter(
    (name) => (!wanted || wanted.includes(name)) && (kind === "all" || getBackend(name).synchronous),
  );
}
