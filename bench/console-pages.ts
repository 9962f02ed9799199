/**
 * The console's pages in a real browser, for bench/console.ts (`--pages`): Debian's Chromium launched and signed in
 * as the browser tests do it, then each page opened by its URL (a full load: the files, the session, the data) and
 * timed until its data is shown — its heading is there and nothing in it is aria-busy (polled every 25 ms, as the
 * tests wait). The overview's day and 30 days are tabs of its page: timed from the click until its calls figure
 * changed. Each overview waits out the server's 5 s keeping of its answers, so every one is counted afresh.
 */
import { OVERVIEW_CACHE_MS } from "../src/admin/overview-answers";
import { openBrowser } from "../test/console/browser";
import { ConsolePage } from "../test/console/console-page";
import { ALICE } from "../test/console/demo";
import { faceidSdk } from "../test/helpers/sdk";

const RUNS = 5;
/** the request log's size: the Requests page then shows as many calls as it ever can */
const CALLS = 1000;
const PATIENCE_MS = 60_000;

export interface PageTiming {
  page: string;
  first: number;
  median: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls from a test key until the request log is full; the newest call's RequestId, for its page. */
async function fillRequestLog(opsUrl: string, port: number, token: string, accountId: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const made: unknown = await (
    await fetch(`${opsUrl}/_sanyao/accounts/${accountId}/keys`, { method: "POST", headers, body: JSON.stringify({ test: true }) })
  ).json();
  const key = typeof made === "object" && made !== null && "key" in made ? made.key : undefined;
  if (typeof key !== "object" || key === null || !("secretId" in key) || !("secretKey" in key)) throw new Error("no key made");
  const { secretId, secretKey } = key;
  if (typeof secretId !== "string" || typeof secretKey !== "string") throw new Error("no key made");
  await sleep(300); // a running server takes a new key within 250 ms
  const sdk = faceidSdk(port, { secretId, secretKey });
  for (let i = 0; i < CALLS; i += 10) {
    // a call refused (a rate limit) is logged as well as one answered
    await Promise.all(Array.from({ length: 10 }, () => sdk.PhoneVerification(ALICE).catch(() => undefined)));
  }
  const last: unknown = await (await fetch(`${opsUrl}/_sanyao/requests?limit=1`, { headers })).json();
  const calls = typeof last === "object" && last !== null && "requests" in last ? last.requests : undefined;
  const call: unknown = Array.isArray(calls) ? calls[0] : undefined;
  const requestId = typeof call === "object" && call !== null && "requestId" in call ? call.requestId : undefined;
  if (typeof requestId !== "string") throw new Error("the request log holds no call");
  return requestId;
}

/** The console's pages timed on the server at `opsUrl` (main port `port`), signed in with `token`. */
export async function timePages(o: { opsUrl: string; port: number; token: string; accountId: string }): Promise<PageTiming[]> {
  const requestId = await fillRequestLog(o.opsUrl, o.port, o.token, o.accountId);
  const browser = await openBrowser();
  try {
    const ui = new ConsolePage(browser.page, o.opsUrl);
    await ui.open();
    await ui.signIn(o.token);
    // the tests' 5 s is a failure for a person; here a slower page is measured, not given up on
    browser.context.setDefaultTimeout(PATIENCE_MS);
    const load = async (path: string) => {
      const t0 = performance.now();
      await ui.open(path);
      try {
        await browser.page.locator("main h1").waitFor();
        await ui.settled(PATIENCE_MS);
      } catch (err) {
        const shown = await browser.page.locator("main").textContent();
        throw new Error(`/_sanyao/console/${path} shows: ${shown?.slice(0, 300)}`, { cause: err });
      }
      return performance.now() - t0;
    };
    const tab = async (name: string) => {
      const before = await ui.shown("Calls");
      const t0 = performance.now();
      await ui.button(name).click();
      for (const deadline = Date.now() + PATIENCE_MS; (await ui.shown("Calls")) === before; ) {
        if (Date.now() > deadline) throw new Error(`the overview's ${name}: its calls unchanged after ${PATIENCE_MS / 1000} s`);
        await browser.page.waitForTimeout(25);
      }
      return performance.now() - t0;
    };
    const pages: Array<[string, () => Promise<number>]> = [
      ["Accounts", () => load("accounts")],
      ["an account and its ledger", () => load(`accounts/${o.accountId}`)],
      ["Keys (the accounts to pick from)", () => load("keys")],
      ["an account's keys", () => load(`keys/${o.accountId}`)],
      ["Usage", () => load("usage")],
      [`Requests (${CALLS} in the log)`, () => load("requests")],
      ["a request", () => load(`requests/${requestId}`)],
      ["Scenarios", () => load("scenarios")],
      ["Gateway", () => load("gateway")],
      ["Records", () => load("records")],
    ];
    const overview: number[][] = [[], [], []];
    for (let run = 0; run < RUNS; run++) {
      await sleep(OVERVIEW_CACHE_MS + 100);
      overview[0]?.push(await load(""));
      overview[1]?.push(await tab("Last day"));
      overview[2]?.push(await tab("Last 30 days"));
    }
    const timings = ["Overview, last hour", "Overview, last day (its tab)", "Overview, last 30 days (its tab)"].map((page, i) =>
      summary(page, overview[i] ?? []),
    );
    for (const [page, time] of pages) {
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++) times.push(await time());
      timings.push(summary(page, times));
    }
    if (browser.dialogs.length + browser.cspViolations.length > 0) throw new Error("a dialog or a CSP violation on a page");
    return timings;
  } finally {
    await browser.close();
  }
}

function summary(page: string, times: number[]): PageTiming {
  const first = times[0] ?? 0;
  const sorted = [...times].sort((a, b) => a - b);
  return { page, first, median: sorted[Math.floor(sorted.length / 2)] ?? 0 };
}
