/**
 * The console as a person meets it, for the browser tests: pages reached by their navigation links, forms found by
 * their names, fields by their labels, buttons by what they say (APISIX Dashboard's e2e page objects, in small).
 */
import type { Locator, Page } from "playwright-core";

/** The English names the tests look for; the Chinese ones are checked by the language test. */
export const PAGES = ["Overview", "Accounts", "Keys", "Usage", "Requests", "Scenarios", "Gateway", "Records"] as const;
export type PageName = (typeof PAGES)[number];

export class ConsolePage {
  constructor(
    readonly page: Page,
    readonly serverUrl: string,
  ) {}

  url(path = ""): string {
    return `${this.serverUrl}/_sanyao/console/${path}`;
  }

  async open(path = ""): Promise<void> {
    await this.page.goto(this.url(path));
  }

  nav(): Locator {
    return this.page.getByRole("navigation", { name: /^(Main|主导航)$/ });
  }

  async signIn(token: string): Promise<void> {
    await this.page.getByLabel(/^(Token|令牌)$/).fill(token);
    await this.page.getByRole("button", { name: /^(Sign in|登录)$/ }).click();
    await this.nav().waitFor();
  }

  async signOut(): Promise<void> {
    await this.page.getByRole("button", { name: /^(Sign out|退出登录)$/ }).click();
    await this.page.getByLabel(/^(Token|令牌)$/).waitFor();
  }

  /** follows the navigation link named so; waits for the page's heading and its data */
  async go(name: string): Promise<void> {
    await this.nav().getByRole("link", { name, exact: true }).click();
    await this.page.getByRole("heading", { level: 1, name, exact: true }).waitFor();
    await this.settled();
  }

  /** the page's data is in: nothing in it is marked aria-busy (a page is busy until its first answer) */
  async settled(timeoutMs = 15_000): Promise<void> {
    // polled through the locator (waitForFunction would evaluate a string in the page, which the CSP refuses)
    const busy = this.page.locator('main [aria-busy="true"]');
    for (const deadline = Date.now() + timeoutMs; (await busy.count()) > 0; ) {
      if (Date.now() > deadline) throw new Error(`${this.page.url()}: still busy after ${timeoutMs / 1000} s`);
      await this.page.waitForTimeout(25);
    }
  }

  form(name: string): Locator {
    return this.page.getByRole("form", { name, exact: true });
  }

  button(name: string | RegExp): Locator {
    return this.page.getByRole("button", { name, exact: typeof name === "string" });
  }

  /** what the page says it did, or what went wrong */
  status(): Locator {
    return this.page.getByRole("status");
  }

  alert(): Locator {
    return this.page.getByRole("alert");
  }

  /** the value shown beside a name in a description list (<dt>name</dt><dd>value</dd>) */
  async shown(name: string): Promise<string> {
    const term = this.page.locator("dt", { hasText: new RegExp(`^${name.replace(/[()]/g, "\\$&")}$`) }).first();
    return ((await term.locator("xpath=following-sibling::dd[1]").textContent()) ?? "").trim();
  }

  /** a call to the operations API from the page, with its session cookie; the CSRF header only when asked */
  async apiStatus(method: string, path: string, body: unknown, o: { csrf: boolean }): Promise<number> {
    return this.page.evaluate(
      `(async () => {
        const session = await fetch("/_sanyao/session").then((r) => r.json());
        const headers = { "Content-Type": "application/json" };
        if (${o.csrf}) headers["X-Sanyao-CSRF"] = session.csrf;
        const r = await fetch(${JSON.stringify(path)}, { method: ${JSON.stringify(method)}, headers, body: ${JSON.stringify(JSON.stringify(body))} });
        return r.status;
      })()`,
    );
  }

  /** everything the browser stores for the page: local and session storage, and the cookies' names and values */
  async storedText(): Promise<string> {
    const storage = await this.page.evaluate<string>("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])");
    const cookies = await this.page.context().cookies();
    return storage + JSON.stringify(cookies.map((c) => [c.name, c.value]));
  }
}
