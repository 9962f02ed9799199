/**
 * `npm run screenshots`: a picture of each page of the console into the folder named on the command line
 * (docs/console), over the demo installation (a gateway with two teams; personal values only masked). Not a test:
 * run it when the pages change, and look.
 */
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "../helpers/paths";
import { openBrowser } from "./browser";
import { ConsolePage } from "./console-page";
import { DEMO_TOKEN, startDemo } from "./demo";

async function main(where: string): Promise<void> {
  const out = path.resolve(repoRoot, where);
  fs.mkdirSync(out, { recursive: true });
  const demo = await startDemo();
  const browser = await openBrowser();
  try {
    const ui = new ConsolePage(browser.page, demo.gateway.url);
    const shoot = async (name: string) => {
      await ui.settled();
      await browser.page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
      process.stdout.write(`${path.relative(repoRoot, path.join(out, name))}.png\n`);
    };
    await ui.open();
    await browser.page.getByLabel("Token", { exact: true }).waitFor();
    await shoot("sign-in");
    await ui.signIn(DEMO_TOKEN);
    const [payments] = demo.teams;
    if (!payments) throw new Error("the demo has teams");
    for (const [name, slug] of [
      ["Overview", "overview"],
      ["Accounts", "accounts"],
      ["Usage", "usage"],
      ["Requests", "requests"],
      ["Scenarios", "scenarios"],
      ["Gateway", "gateway"],
      ["Records", "records"],
    ] as const) {
      await ui.go(name);
      await shoot(slug);
    }
    for (const [where, slug] of [
      [`accounts/${payments.accountId}`, "account"],
      [`keys/${payments.accountId}`, "keys"],
      [`requests/${demo.refusedRequestId}`, "request-diagnosis"],
    ] as const) {
      await ui.open(where);
      await browser.page.getByRole("heading", { level: 1 }).waitFor();
      await shoot(slug);
    }
    await browser.page.getByLabel("Language", { exact: true }).selectOption("zh");
    await ui.go("概览");
    await shoot("overview-zh");
  } finally {
    await browser.close();
    await demo.close();
  }
}

// The folder is named on the command line (npm run screenshots names docs/console): `npm test`, which runs every
// file under dist/test/, runs this one too, and must not rewrite the docs' pictures.
const where = process.argv[2];
if (where !== undefined) {
  main(where).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
