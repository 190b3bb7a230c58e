import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium package; `.ci/run` installs it when missing. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Where browser tests save screenshots (gitignored with the rest of `.tmp/`). */
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../.tmp/screenshots/", import.meta.url));

/** No network beyond loopback, no background traffic (updates, sync, QUIC probes), no GPU on a headless box. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A headless Chromium page that may reach loopback only, and what it tried beyond. */
export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  /** Every non-loopback URL the page tried to load (each was aborted). */
  blocked: string[];
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  /** Saves a screenshot (of the whole page unless `fullPage` is false) as `<name>.png` under SCREENSHOT_DIR; returns its path. */
  screenshot(name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

/** True when the browser the tests drive is installed (CI installs it; see `.ci/run`). */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Launches Debian's Chromium through playwright-core with a fresh user-data
 * directory, and aborts every request whose host is not loopback (recording
 * it in `blocked`, so a test can assert nothing was attempted).
 *
 * @example
 * const browser = await openBrowser();
 * await browser.page.goto(`${server.url}/docs`);
 * expect(browser.blocked).toEqual([]);
 * await browser.close();
 */
export async function openBrowser(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), "hookline-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  // Playwright's 30 s default is too short when two browsers share a loaded two-core machine.
  context.setDefaultTimeout(60_000);
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === "http:" || url.protocol === "https:" || url.protocol === "ws:" || url.protocol === "wss:") && LOOPBACK_HOSTS.has(url.hostname)) {
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    page,
    context,
    blocked,
    errors,
    async screenshot(name, fullPage = true) {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage });
      return path;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
