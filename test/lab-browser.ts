/** The built lab on a local server, and Chromium opened beside it: what the lab's browser tests share. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { buildLab, labBuildDir, labDataFiles } from "../src/cli/commands/lab.js";
import { type LabServer, startLabServer } from "../src/cli/lab-server.js";
import { launchChromium } from "./browser.js";

/**
 * Build the lab if it is missing, serve it with the data sets it fetches, and launch Chromium
 * (`gpuArgs`: how it gets WebGPU, if at all). `timeout` is Playwright's default wait: pages train
 * while they draw, beside another test file on 2 cores.
 */
export async function openLab(
  gpuArgs: string[] = ["--disable-gpu"],
  { timeout = 60_000 }: { timeout?: number } = {},
): Promise<{ server: LabServer; context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(join(labBuildDir, "index.html"))) await buildLab();
  const server = await startLabServer({ root: labBuildDir, port: 0, data: labDataFiles() });
  const browser = await launchChromium(gpuArgs);
  browser.context.setDefaultTimeout(timeout);
  return {
    server,
    context: browser.context,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
