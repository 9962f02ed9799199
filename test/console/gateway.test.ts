/**
 * The console in gateway mode, in a real browser: the Gateway page names the upstream and its limit and shows each
 * team's spend against its budget and the cache's hits; Usage counts cached and refused calls apart; the Overview
 * gives the upstream's state.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type OpenBrowser, openBrowser } from "./browser";
import { ConsolePage } from "./console-page";
import { DEMO_TOKEN, type Demo, startDemo } from "./demo";

describe("console: gateway mode", () => {
  let demo: Demo;
  let browser: OpenBrowser;
  let ui: ConsolePage;

  before(async () => {
    demo = await startDemo();
    browser = await openBrowser();
    ui = new ConsolePage(browser.page, demo.gateway.url);
    await ui.open();
    await ui.signIn(DEMO_TOKEN);
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it("the Gateway page: the upstream, its limit, each team's spend against its budget, the cache", async () => {
    await ui.go("Gateway");
    assert.equal(await ui.shown("Upstream"), demo.upstream.url);
    assert.match(await ui.shown("Upstream limit"), /^\d+ per second and action$/);
    assert.match(await ui.shown("Cache this month"), /^[1-9]\d* hits/);
    const payments = browser.page.getByRole("row", { name: /Payments team/ });
    assert.equal(await payments.getByRole("cell").first().textContent(), "100.00");
    await payments.getByRole("meter", { name: "Spend of Payments team against its budget" }).waitFor();
  });

  it("the Gateway page charts the upstream slots taken per second against the limit", async () => {
    // read from the page, not the API; and nothing here depends on when the demo's calls fell in the last minute
    const limit = /^(\d+) per second/.exec(await ui.shown("Upstream limit"))?.[1];
    assert.ok(limit, "the page names the upstream's limit");
    assert.match(await ui.shown("Slots taken this second"), new RegExp(`^\\d+ of ${limit}$`), "slots are counted against that limit");
    const chart = browser.page.getByRole("img", { name: "Upstream slots taken per second by this process, last minute" });
    await chart.waitFor();
    // the figures are drawn on a canvas; the chart's legend names the two series drawn
    await chart.getByText("Slots taken", { exact: true }).waitFor();
    await chart.getByText("Upstream limit", { exact: true }).waitFor();
  });

  it("Usage shows cached and refused calls apart", async () => {
    await ui.go("Usage");
    await browser.page.getByRole("columnheader", { name: "Cached" }).waitFor();
    await browser.page.getByRole("columnheader", { name: "Refused" }).waitFor();
    const row = browser.page.getByRole("row", { name: new RegExp(`${demo.teams[0]?.accountId}.*PhoneVerification`) });
    const cells = await row.getByRole("cell").allTextContents();
    assert.equal(cells.length, 9);
    assert.ok(Number(cells[7]) >= 1, `a cached call is counted: ${cells.join(" | ")}`);
  });

  it("the Overview gives the upstream's state", async () => {
    await ui.go("Overview");
    await browser.page.getByRole("heading", { name: "Gateway", level: 2 }).waitFor();
    assert.equal(await ui.shown("State"), "ok");
    assert.deepEqual(browser.dialogs, []);
    assert.deepEqual(browser.cspViolations, []);
  });
});
