/**
 * What the console must never let happen, in a real browser: the read-only token changing anything (in the pages or
 * through the API), a name run as markup, a change without the CSRF header or from another origin, a page or the
 * browser's storage holding a raw phone, name or identity number. And both languages render every page.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { demoRecords } from "../../src/app/demo";
import { chinaDate } from "../../src/rules/precheck";
import { faceidSdk } from "../helpers/sdk";
import { type TestServer, startTestServer } from "../helpers/server";
import { type OpenBrowser, openBrowser } from "./browser";
import { ConsolePage, PAGES } from "./console-page";

const TOKEN = "sy_console_safety_operator_token";
const READ_TOKEN = "syr_console_safety_read_only_token";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const RAW_VALUES = [ALICE.Phone, ALICE.Name, ALICE.IdCard];
const XSS_NAME = "<img src=x onerror=alert(1)>";
const CHINESE_PAGES = ["概览", "账户", "密钥", "用量", "请求", "场景", "网关", "记录"];

describe("console: safety and languages", () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  let xss: { accountId: string };
  let requestId: string;
  const browsers: OpenBrowser[] = [];

  /** a fresh browser (profile, cookies, storage), signed in with the token given */
  const signedIn = async (token: string, locale = "en-US") => {
    const browser = await openBrowser({ locale });
    browsers.push(browser);
    const ui = new ConsolePage(browser.page, server.url);
    await ui.open();
    await ui.signIn(token);
    return { browser, ui };
  };

  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_READ_ONLY_TOKEN: READ_TOKEN });
    await server.addRecords(demoRecords(chinaDate(Date.now())));
    key = await server.addAccount("Privacy team");
    xss = await server.addAccount(XSS_NAME);
    const sdk = faceidSdk(server.port, key);
    requestId = (await sdk.PhoneVerification(ALICE)).RequestId;
    await sdk.CheckPhoneAndName({ Mobile: ALICE.Phone, Name: ALICE.Name });
    await sdk.IdCardVerification({ IdCard: ALICE.IdCard, Name: ALICE.Name });
  });
  after(async () => {
    for (const browser of browsers) {
      assert.deepEqual(browser.dialogs, [], "no dialog opened: no injected script ran");
      assert.deepEqual(browser.cspViolations, [], "nothing the Content-Security-Policy refused");
      await browser.close();
    }
    await server?.close();
  });

  it("the read-only token sees everything and changes nothing, in the pages and through the API", async () => {
    // something each hidden button would change: a disabled key (Enable), a scenario (Remove, Clear)
    const spare = await server.addAccount("Spare team");
    const admin = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const disabled = await fetch(`${server.url}/_sanyao/keys/${spare.secretId}`, {
      method: "PATCH",
      headers: admin,
      body: JSON.stringify({ enabled: false }),
    });
    assert.equal(disabled.status, 200);
    const scenario = await fetch(`${server.url}/_sanyao/scenarios`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ account: spare.accountId, action: "MobileStatus", result: "-4", times: "1" }),
    });
    assert.equal(scenario.status, 201);
    const { browser, ui } = await signedIn(READ_TOKEN);
    await browser.page.getByRole("note").filter({ hasText: "read-only token" }).waitFor();
    await ui.go("Accounts");
    await browser.page.getByRole("link", { name: "Privacy team", exact: true }).waitFor();
    assert.equal(await ui.button("Create account").count(), 0);
    await ui.open(`accounts/${key.accountId}`);
    await browser.page.getByRole("heading", { level: 1, name: "Privacy team" }).waitFor();
    await browser.page.getByRole("region", { name: "Ledger" }).getByRole("cell", { name: "PhoneVerification" }).waitFor();
    assert.equal(await ui.button("Top up").count(), 0);
    assert.equal(await ui.button("Save changes").count(), 0);
    await ui.open(`keys/${key.accountId}`);
    await browser.page.getByRole("row", { name: new RegExp(key.secretId) }).waitFor();
    assert.equal(await ui.button("Create key").count(), 0);
    assert.equal(await ui.button(/^Disable /).count(), 0);
    await ui.open(`keys/${spare.accountId}`);
    await browser.page
      .getByRole("row", { name: new RegExp(spare.secretId) })
      .getByRole("cell", { name: "disabled" })
      .waitFor();
    assert.equal(await ui.button(/^Enable /).count(), 0);
    await ui.go("Scenarios");
    await browser.page.getByRole("row", { name: new RegExp(spare.accountId) }).waitFor();
    assert.equal(await ui.button("Add scenario").count(), 0);
    assert.equal(await ui.button(/^Clear /).count(), 0);
    assert.equal(await ui.button(/^Remove/).count(), 0);
    await ui.go("Records");
    assert.equal(await ui.button("Import").count(), 0);

    // the API refuses too: the session with its CSRF header, and the bearer token
    assert.equal(await ui.apiStatus("POST", "/_sanyao/accounts", { name: "nope" }, { csrf: true }), 403);
    assert.equal(await ui.apiStatus("POST", `/_sanyao/accounts/${key.accountId}/top-ups`, { amount: "1" }, { csrf: true }), 403);
    const bearer = await fetch(`${server.url}/_sanyao/accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${READ_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "nope" }),
    });
    assert.equal(bearer.status, 403);
    const list = await server.cli(["accounts", "list", "--json"]);
    assert.doesNotMatch(list.stdout, /nope/, "no account was made");
  });

  it("an account named as markup shows as text, and runs nothing", async () => {
    const { browser, ui } = await signedIn(TOKEN);
    await ui.go("Accounts");
    await browser.page.getByRole("link", { name: XSS_NAME, exact: true }).waitFor();
    await ui.open(`accounts/${xss.accountId}`);
    await browser.page.getByRole("heading", { level: 1, name: XSS_NAME, exact: true }).waitFor();
    await ui.go("Keys");
    await browser.page.getByRole("link", { name: `Keys of ${XSS_NAME}` }).waitFor();
    assert.equal(await browser.page.locator("main img").count(), 0, "no image element was made from the name");
    assert.deepEqual(browser.dialogs, []);
  });

  it("a change without the CSRF header, or from another origin, is refused", async () => {
    const { browser, ui } = await signedIn(TOKEN);
    assert.equal(await ui.apiStatus("POST", "/_sanyao/accounts", { name: "no header" }, { csrf: false }), 403);
    assert.equal(await ui.apiStatus("PATCH", `/_sanyao/accounts/${key.accountId}`, { activated: false }, { csrf: false }), 403);
    // the same request with the header passes: the refusal above was the missing header's
    assert.equal(await ui.apiStatus("POST", "/_sanyao/accounts", { name: "with header" }, { csrf: true }), 201);
    const cookie = (await browser.context.cookies()).find((c) => c.name === "sanyao_session");
    const csrf = await browser.page.evaluate<string>("fetch('/_sanyao/session').then((r) => r.json()).then((s) => s.csrf)");
    const foreign = await fetch(`${server.url}/_sanyao/accounts`, {
      method: "POST",
      headers: {
        cookie: `sanyao_session=${cookie?.value}`,
        "x-sanyao-csrf": csrf,
        origin: "http://attacker.example",
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "cross-site" }),
    });
    assert.equal(foreign.status, 403);
    const list = await server.cli(["accounts", "list", "--json"]);
    assert.match(list.stdout, /with header/);
    assert.doesNotMatch(list.stdout, /no header|cross-site/);
  });

  it("both languages render every page: Chinese from the browser's language, English when switched", async () => {
    const { browser, ui } = await signedIn(TOKEN, "zh-CN");
    const untranslated =
      /\b(?:nav|app|signIn|pager|common|overview|accounts|account|keys|usage|requests|request|scenarios|gateway|records)\.[a-z][A-Za-z]+\b/;
    const visitAll = async (names: readonly string[]) => {
      for (const name of names) {
        await ui.go(name);
        const text = (await browser.page.locator("body").textContent()) ?? "";
        assert.doesNotMatch(text, untranslated, `${name}: every string has its translation`);
      }
    };
    assert.equal(await browser.page.locator("html").getAttribute("lang"), "zh-CN");
    await visitAll(CHINESE_PAGES);
    await browser.page.getByLabel("语言", { exact: true }).selectOption("en");
    await ui.nav().getByRole("link", { name: "Overview", exact: true }).waitFor();
    await visitAll(PAGES);
    // the choice is kept (a language is all the console keeps in the browser)
    await browser.page.reload();
    await ui.nav().getByRole("link", { name: "Overview", exact: true }).waitFor();
    await browser.page.getByLabel("Language", { exact: true }).selectOption("zh");
    await ui.nav().getByRole("link", { name: "概览", exact: true }).waitFor();
    await ui.open(`requests/${requestId}`);
    await browser.page.getByRole("heading", { level: 1, name: `请求 ${requestId}` }).waitFor();
  });

  it("Records: counts by status and carrier; a CSV imported from the browser with its progress, a bad one refused naming its line", async () => {
    const { browser, ui } = await signedIn(TOKEN);
    await ui.go("Records");
    const before = Number((await browser.page.getByText(/^\d+ records\.$/).textContent())?.split(" ")[0]);
    await browser.page
      .getByRole("table", { name: "By carrier" })
      .getByRole("row", { name: /mobile/ })
      .waitFor();
    const form = ui.form("Import a CSV file");
    await form.getByLabel("CSV file", { exact: true }).setInputFiles({
      name: "records.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("phone,name,idcard,isp\n13900001111,王小明,330106198001013417,\n13900002222,李小红,510104199208152233,telecom\n"),
    });
    await form.getByRole("button", { name: "Import", exact: true }).click();
    await ui.status().filter({ hasText: "Imported 2, replaced 0, rejected 0." }).waitFor();
    assert.equal(await form.getByRole("progressbar").count(), 1, "the progress bar is shown");
    await browser.page.getByText(`${before + 2} records.`).waitFor();
    await form.getByLabel("CSV file", { exact: true }).setInputFiles({
      name: "bad.csv",
      mimeType: "text/csv",
      buffer: Buffer.from('phone,name,idcard\n13900003333,赵六,110105199003072143\n"13900004444,钱七,110105199003072143\n'),
    });
    await form.getByRole("button", { name: "Import", exact: true }).click();
    await ui
      .alert()
      .filter({ hasText: /^Refused: line 3: / })
      .waitFor();
    await browser.page.getByText(`${before + 2} records.`).waitFor(); // nothing of the bad file was imported
    const html = await browser.page.content();
    for (const value of ["13900001111", "王小明", "330106198001013417"]) assert.ok(!html.includes(value), "no imported value shows");
    // nor any of the refused file's: not in its error, not anywhere else
    for (const value of ["13900003333", "赵六", "13900004444", "钱七", "110105199003072143"])
      assert.ok(!html.includes(value), `no value of the refused file shows (${value.slice(0, 3)}…)`);
  });

  it("no page and nothing the browser stores holds a raw phone, name or identity number", async () => {
    const { browser, ui } = await signedIn(TOKEN);
    // a scenario about Alice's numbers, typed into the page: the list shows their masks
    await ui.go("Scenarios");
    const form = ui.form("Add a scenario");
    await form.getByLabel("Account id", { exact: true }).fill(key.accountId);
    await form.getByLabel("Phone", { exact: true }).fill(ALICE.Phone);
    await form.getByLabel("Identity number", { exact: true }).fill(ALICE.IdCard);
    await form.getByLabel("Effect", { exact: true }).selectOption({ label: "Answer an API error" });
    await form.getByLabel("Error code", { exact: true }).fill("InternalError");
    await ui.button("Add scenario").click();
    await browser.page.getByRole("cell", { name: "138****1234" }).waitFor();

    const seen: string[] = [];
    const look = async (where: string) => {
      // the markup, what the fields hold (a typed value is a property, not in the markup), the URL and the history's
      // state, and the browser's storage
      const values = await browser.page.evaluate<string>(
        "JSON.stringify([...document.querySelectorAll('input, textarea, select')].map((field) => field.value))",
      );
      const state = await browser.page.evaluate<string>("JSON.stringify(history.state)");
      seen.push(`${where}\n${await browser.page.content()}\n${values}\n${browser.page.url()}\n${state}\n${await ui.storedText()}`);
    };
    await look("scenarios");
    for (const name of PAGES) {
      await ui.go(name);
      await look(name);
    }
    for (const path of [`accounts/${key.accountId}`, `keys/${key.accountId}`, `requests/${requestId}`]) {
      await ui.open(path);
      await browser.page.getByRole("heading", { level: 1 }).waitFor();
      await ui.settled();
      await look(path);
    }
    const everything = seen.join("\n");
    // the pages were read with their data: the masks, the calls, the diagnosis' account
    for (const shown of ["138****1234", requestId, "Privacy team", key.secretId])
      assert.ok(everything.includes(shown), `${shown} is shown`);
    for (const value of RAW_VALUES) assert.ok(!everything.includes(value), `no page or storage holds ${value.slice(0, 3)}…`);
    // the console keeps no database in the browser
    assert.deepEqual(await browser.page.evaluate<string[]>("indexedDB.databases().then((dbs) => dbs.map((db) => db.name))"), []);
  });
});
