/**
 * The console's main flow in a real browser, on SQLite and on PostgreSQL: sign in; make an account and a key in the
 * pages; the official SDK calls with that key and the call shows under Requests within 2 s, with a page of its own;
 * a refused signature shows its diagnosis; a scenario added in the page answers the SDK; a top-up moves the
 * balance; signing out ends the session on the server too.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, it } from "node:test";
import type { Request } from "playwright-core";
import { demoRecords } from "../../src/app/demo";
import { chinaDate } from "../../src/rules/precheck";
import { faceidSdk } from "../helpers/sdk";
import { describeBackends, type TestServer, startTestServer } from "../helpers/server";
import { type OpenBrowser, openBrowser } from "./browser";
import { ConsolePage } from "./console-page";

const TOKEN = "sy_console_main_flow_operator_token";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

/** the RequestId of a refused SDK call, and its code */
async function refused(call: Promise<unknown>): Promise<{ requestId: string; code: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { requestId?: string; code?: string };
    return { requestId: e.requestId ?? "", code: e.code ?? "" };
  }
  assert.fail("the call succeeded");
}

describeBackends("console: main flow", (backend) => {
  let server: TestServer;
  let browser: OpenBrowser;
  let ui: ConsolePage;
  let key: { accountId: string; secretId: string; secretKey: string };

  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    await server.addRecords(demoRecords(chinaDate(Date.now())));
    browser = await openBrowser();
    ui = new ConsolePage(browser.page, server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("signs in with the token; a wrong token is refused", async () => {
    await ui.open();
    await browser.page.getByLabel("Token", { exact: true }).fill("sy_not_the_token");
    await ui.button("Sign in").click();
    await ui.alert().filter({ hasText: "That token is not one of this installation's." }).waitFor();
    await ui.signIn(TOKEN);
    await browser.page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    for (const name of ["Overview", "Accounts", "Keys", "Usage", "Requests", "Scenarios", "Gateway", "Records"]) {
      assert.equal(await ui.nav().getByRole("link", { name, exact: true }).count(), 1, `the navigation names ${name}`);
    }
  });

  it("makes an account and a key in the pages", async () => {
    await ui.go("Accounts");
    await ui.form("New account").getByLabel("Name", { exact: true }).fill("Console team");
    await ui.button("Create account").click();
    await browser.page.getByRole("heading", { level: 1, name: "Console team" }).waitFor();
    const accountId = await ui.shown("Account id");
    assert.match(accountId, /^\d+$/);
    await browser.page.getByRole("link", { name: "This account's keys" }).click();
    await browser.page.getByRole("heading", { name: "Keys of Console team" }).waitFor();
    await ui.button("Create key").click();
    const shownOnce = browser.page.getByRole("region", { name: "New key" });
    await shownOnce.getByText("The SecretKey is shown only now").waitFor();
    const [secretId = "", secretKey = ""] = await shownOnce.locator("code").allInnerTexts();
    assert.match(secretId, /^AKID/);
    assert.ok(secretKey.length >= 16, "the SecretKey is shown");
    await browser.page
      .getByRole("row", { name: new RegExp(secretId) })
      .getByRole("cell", { name: "enabled" })
      .waitFor();
    await ui.button("I have kept it").click();
    assert.equal(await browser.page.getByText(secretKey).count(), 0, "the SecretKey is gone once dismissed");
    key = { accountId, secretId, secretKey };
  });

  it("a SecretKey shown on one account's keys page is not on another's (the back button)", async () => {
    const other = await server.addAccount("Other team");
    await ui.open(`keys/${other.accountId}`);
    await browser.page.getByRole("heading", { name: "Keys of Other team" }).waitFor();
    await browser.page.getByRole("link", { name: "All accounts' keys" }).click();
    await browser.page.getByRole("link", { name: "Keys of Console team" }).click();
    await browser.page.getByRole("heading", { name: "Keys of Console team" }).waitFor();
    await ui.button("Create key").click();
    const shownOnce = browser.page.getByRole("region", { name: "New key" });
    const secretKey = (await shownOnce.getByTestId("secret-key").textContent()) ?? "";
    assert.ok(secretKey.length >= 16, "the SecretKey is shown");
    // two entries back at once (the back button's menu): the keys page stays, only the account changes
    await browser.page.evaluate("history.go(-2)");
    await browser.page.getByRole("heading", { name: "Keys of Other team" }).waitFor();
    await ui.settled();
    assert.equal(browser.page.url(), ui.url(`keys/${other.accountId}`));
    assert.equal(await shownOnce.count(), 0, "no SecretKey box on the other account's page");
    assert.equal(await browser.page.getByText(secretKey).count(), 0, "the SecretKey is nowhere on the page");
  });

  it("the SDK's call shows under Requests within 2 s, and has a page of its own", async () => {
    await ui.go("Requests");
    await browser.page.getByText("No calls yet.").waitFor();
    const answer = await faceidSdk(server.port, key).PhoneVerification(ALICE);
    assert.equal(answer.Result, "0");
    const link = browser.page.getByRole("link", { name: answer.RequestId, exact: true });
    // the default timeout: "within 2 s" is met by design (the page asks a second after each answer); a speed goal
    // belongs in a benchmark, not in a timed test on a shared machine
    await link.waitFor();
    // filtered on the server: another action hides it, this one shows it again
    await browser.page.getByLabel("Action", { exact: true }).selectOption("MobileStatus");
    await browser.page.getByText("No calls yet.").waitFor();
    await browser.page.getByLabel("Action", { exact: true }).selectOption("PhoneVerification");
    await link.waitFor();
    // paused, the list stays as it is; resumed, it catches up with what came meanwhile
    await ui.button("Pause").click();
    await ui.button("Resume").waitFor(); // the pause has rendered: from here on the page asks nothing
    let asked = 0;
    const count = (request: Request) => {
      if (new URL(request.url()).pathname === "/_sanyao/requests") asked += 1;
    };
    browser.page.on("request", count);
    const meanwhile = await faceidSdk(server.port, key).PhoneVerification(ALICE);
    await browser.page.waitForTimeout(2500); // a live page would have asked twice or more by now
    browser.page.off("request", count);
    assert.equal(asked, 0, "the paused page asks the server nothing");
    assert.equal(await browser.page.getByRole("link", { name: meanwhile.RequestId }).count(), 0, "nothing new while paused");
    assert.equal(await link.count(), 1, "the calls shown stay");
    await ui.button("Resume").click();
    await browser.page.getByRole("link", { name: meanwhile.RequestId, exact: true }).waitFor();
    await link.click();
    await browser.page.getByRole("heading", { level: 1, name: `Request ${answer.RequestId}` }).waitFor();
    assert.equal(browser.page.url(), ui.url(`requests/${answer.RequestId}`));
    assert.equal(await ui.shown("Action"), "PhoneVerification");
    assert.equal(await ui.shown("Answer"), "0");
    assert.deepEqual((await ui.shown("Parameters sent (names only)")).split(", ").sort(), ["IdCard", "Name", "Phone"]);
    assert.match(await ui.shown("Charge (CNY)"), /^\d+\.\d{2}$/);
    // its own URL: a reload (or a link sent to a colleague) opens the same page
    await browser.page.reload();
    await browser.page.getByRole("heading", { level: 1, name: `Request ${answer.RequestId}` }).waitFor();
  });

  it("a signature mistake shows its diagnosis", async () => {
    const mistake = await refused(faceidSdk(server.port, { ...key, secretKey: `${key.secretKey} ` }).PhoneVerification(ALICE));
    assert.equal(mistake.code, "AuthFailure.SignatureFailure");
    await ui.open(`requests/${mistake.requestId}`);
    await browser.page.getByRole("heading", { name: "Signature diagnosis" }).waitFor();
    assert.equal(await ui.shown("Answer"), "AuthFailure.SignatureFailure");
    await browser.page.getByRole("listitem").filter({ hasText: "SecretKey plus a trailing space" }).waitFor();
  });

  it("a scenario added in the page answers the SDK", async () => {
    await ui.go("Scenarios");
    const form = ui.form("Add a scenario");
    await form.getByLabel("Account id", { exact: true }).fill(key.accountId);
    await form.getByLabel("Action", { exact: true }).selectOption("PhoneVerification");
    await form.getByLabel("Effect", { exact: true }).selectOption({ label: "Answer a Result" });
    await form.getByLabel("Result code", { exact: true }).fill("-4");
    await form.getByLabel("Only the next N calls", { exact: true }).fill("1");
    await ui.button("Add scenario").click();
    await ui
      .status()
      .filter({ hasText: /^Added scn-/ })
      .waitFor();
    await browser.page.getByRole("cell", { name: "Result -4" }).waitFor();
    const sdk = faceidSdk(server.port, key);
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "-4");
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0", "only the next call");
  });

  it("a top-up moves the balance", async () => {
    await ui.open(`accounts/${key.accountId}`);
    await browser.page.getByRole("heading", { level: 1, name: "Console team" }).waitFor();
    const before = Number(await ui.shown("Balance (CNY)"));
    const form = ui.form("Top up");
    await form.getByLabel("Amount in CNY", { exact: true }).fill("12.50");
    await form.getByLabel("Note", { exact: true }).fill("invoice 7");
    await form.getByRole("button", { name: "Top up" }).click();
    await ui.status().filter({ hasText: "Topped up" }).waitFor();
    await browser.page
      .locator("dd", { hasText: (before + 12.5).toFixed(2) })
      .first()
      .waitFor();
    assert.equal(await ui.shown("Balance (CNY)"), (before + 12.5).toFixed(2));
    // the calls above were charged to this account's ledger, shown here and exported as CSV
    const ledger = browser.page.getByRole("region", { name: "Ledger" });
    await ledger.getByRole("cell", { name: "PhoneVerification" }).first().waitFor();
    const [download] = await Promise.all([browser.page.waitForEvent("download"), ledger.getByRole("link", { name: "Export CSV" }).click()]);
    const csv = fs
      .readFileSync((await download.path()) ?? "", "utf8")
      .trim()
      .split("\n");
    assert.match(csv[0] ?? "", /^at,day,requestId,secretId,action/);
    assert.equal(csv.length - 1, Number(/ of (\d+)/.exec((await ledger.getByRole("navigation").textContent()) ?? "")?.[1]), "every row");
  });

  it("a key disabled in the page is refused; enabled again, it calls", async () => {
    await ui.open(`keys/${key.accountId}`);
    await ui.button(`Disable ${key.secretId}`).click();
    await browser.page
      .getByRole("row", { name: new RegExp(key.secretId) })
      .getByRole("cell", { name: "disabled" })
      .waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the server's cached key row lives 250 ms
    assert.equal((await refused(faceidSdk(server.port, key).PhoneVerification(ALICE))).code, "AuthFailure.SecretIdNotFound");
    await ui.button(`Enable ${key.secretId}`).click();
    await browser.page
      .getByRole("row", { name: new RegExp(key.secretId) })
      .getByRole("cell", { name: "enabled" })
      .waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await faceidSdk(server.port, key).PhoneVerification(ALICE)).Result, "0");
  });

  it("Usage opens on today's China-time day, with this flow's calls in it", async () => {
    // the same day the server counts in: China time, UTC+8 (read at once, so a run across midnight could only be off
    // between these two lines)
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    await ui.go("Usage");
    assert.equal(await browser.page.getByLabel("From", { exact: true }).inputValue(), today);
    assert.equal(await browser.page.getByLabel("To", { exact: true }).inputValue(), today);
    const row = browser.page.getByRole("row", { name: new RegExp(`^${key.accountId} ${today} PhoneVerification`) });
    assert.ok((await row.count()) >= 1, "the SDK's PhoneVerification calls are counted under today");
  });

  it("signing out ends the session, on the server too", async () => {
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === "sanyao_session");
    assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
    assert.equal(session?.sameSite, "Strict");
    await ui.signOut();
    const replayed = await fetch(`${server.url}/_sanyao/accounts`, { headers: { cookie: `sanyao_session=${session?.value}` } });
    assert.equal(replayed.status, 401, "the old cookie no longer opens anything");
    await ui.open("accounts");
    await browser.page.getByLabel("Token", { exact: true }).waitFor();
    assert.deepEqual(browser.dialogs, []);
    assert.deepEqual(browser.cspViolations, []);
  });
});
