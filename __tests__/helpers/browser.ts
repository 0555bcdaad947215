/**
 * Debian's Chromium, headless, driven by playwright-core: a real browser for the tests that must
 * show what a browser does (CORS preflights above all), which no HTTP client reproduces. It runs the
 * system's /usr/bin/chromium (tests declare it with `needClients(ctx, "chromium")`); playwright-core
 * never downloads a browser of its own. Each launch gets a fresh profile, removed on close.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { requireClient } from "./clients.js";

/**
 * No sandbox (tests run as root in containers), no GPU, no QUIC, and none of the background traffic
 * (updates, sync, first-run pages) that would make a run slower or reach the network.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = requireClient("chromium");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    return {
      context,
      async close() {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
