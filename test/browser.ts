/**
 * Debian's Chromium for the browser tests (playwright-core downloads no browser; .ci/run installs
 * it), started headless with a fresh profile and without the background connections this
 * machine's closed network refuses.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.HERO_CHROMIUM ?? "/usr/bin/chromium";

/** A test's `skip` option: false where Chromium is installed or CI is set (there a missing one fails). */
export const noChromium: false | string =
  process.env.CI || existsSync(CHROMIUM)
    ? false
    : `no Chromium at ${CHROMIUM}: apt-get install chromium (or set HERO_CHROMIUM)`;

/** WebGPU on SwiftShader, a CPU adapter: navigator.gpu without a GPU. */
export const SWIFTSHADER_WEBGPU = [
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--use-angle=swiftshader",
];

/**
 * Console errors and uncaught exceptions of a page (and, with `failedRequests`, requests that
 * failed), so a test can assert there were none.
 */
export function watchErrors(
  page: Page,
  { failedRequests = false }: { failedRequests?: boolean } = {},
): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  if (failedRequests) {
    page.on("requestfailed", (r) =>
      errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`),
    );
  }
  return errors;
}

/**
 * Chromium with `gpuArgs` (["--disable-gpu"], or SWIFTSHADER_WEBGPU); close() also removes its
 * profile. `showScrollbars`: draw scrollbars as a desktop does (headless hides them by default).
 */
export async function launchChromium(
  gpuArgs: string[],
  { showScrollbars = false }: { showScrollbars?: boolean } = {},
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), "herograd-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      ...gpuArgs,
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    ignoreDefaultArgs: showScrollbars ? ["--hide-scrollbars"] : [],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
