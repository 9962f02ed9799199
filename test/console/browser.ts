/**
 * Debian's Chromium (/usr/bin/chromium, `apt-get install -y chromium`) driven by playwright-core: no browser is
 * downloaded. Each browser starts on a fresh profile directory (--user-data-dir, removed at close), and records what
 * a person must never meet: a dialog (an injected script ran) or a Content-Security-Policy violation.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

export interface OpenBrowser {
  context: BrowserContext;
  page: Page;
  /** the messages of dialogs that opened (alert, confirm): none may */
  dialogs: string[];
  /** console messages about the Content-Security-Policy: none may appear */
  cspViolations: string[];
  close(): Promise<void>;
}

export async function openBrowser(options: { locale?: string } = {}): Promise<OpenBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    locale: options.locale ?? "en-US",
    viewport: { width: 1280, height: 900 },
  });
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  const watch = (page: Page) => {
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("console", (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  };
  context.on("page", watch);
  // A person gives up on a page long before Playwright's 30 s: a step that takes more is a failure, said soon. 15 s,
  // not 5: the suite runs on 2 shared cores beside other work, and a slow step there is not a broken one.
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  return {
    context,
    page,
    dialogs,
    cspViolations,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
