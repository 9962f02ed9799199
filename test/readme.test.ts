/**
 * What a newcomer meets in a fresh clone, held true: the command table of docs/getting-started.md shows what the commands print, its
 * node:test example is a JavaScript file the suite runs as written, the licence package.json names is there, and
 * nothing a user reads points at a file their clone does not have (the project's specification lives apart).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { repoRoot, tempDir } from "./helpers/server";

const run = promisify(execFile);
const doc = (page: string) => fs.readFileSync(path.join(repoRoot, "docs", page), "utf8");

/** The command table of docs/getting-started.md: its command cell (without the backticks) and its description, per row. */
function commandRows(): Array<{ command: string; says: string }> {
  return doc("getting-started.md")
    .split("\n")
    .filter((l) => l.startsWith("| `sanyao "))
    .map((l) => {
      const [command = "", says = ""] = l.slice(2).split("` | ");
      return { command: command.replace(/^`/, ""), says: says.replace(/ \|$/, "") };
    });
}

/** The `code` spans of a table cell, options (`--json`) left out. */
const spans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "").filter((s) => !s.startsWith("-"));

/** A span of plain text as a pattern: `<anything>`, `…` and NAME stand for the values of one run. */
function shownAsPattern(span: string): RegExp {
  const escaped = span.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^${escaped
      .replace(/<[^>]+>/g, "\\S+")
      .replace(/…/g, ".*")
      .replace(/NAME/g, "\\S+")}$`,
    "m",
  );
}

/** The field names of a span shaped like a JSON object. */
const fieldNames = (span: string) => [...span.matchAll(/"(\w+)":/g)].map((m) => m[1] ?? "");

describe("the command table (docs/getting-started.md) shows what the commands print", () => {
  const data = path.join(tempDir(), "data");
  let server: ServeProcess;
  let accountId = "";
  before(async () => {
    server = await serveProcess(["--data", data]); // the first start makes the installation
    accountId = JSON.parse((await sanyao(["accounts", "list", "--data", data, "--json"])).stdout).accounts[0].accountId;
  });
  after(() => server.stop());

  const cases: Array<[string, () => string[]]> = [
    ["sanyao accounts create --name NAME", () => ["accounts", "create", "--name", "team-a"]],
    ["sanyao keys create --account ID", () => ["keys", "create", "--account", accountId]],
    ["sanyao kms create-key --account ID [--alias A] [--region R]", () => ["kms", "create-key", "--account", accountId]],
  ];
  for (const [command, args] of cases) {
    it(command, async () => {
      const row = commandRows().find((r) => r.command === command);
      assert.ok(row, `the table has a row for ${command}`);
      // what the cell shows before it names --json is what the command prints; what follows, what --json prints
      const [plain = "", withJson = ""] = row.says.split("`--json`");
      const printed = await sanyao([...args(), "--data", data]);
      assert.equal(printed.code, 0, printed.stderr);
      assert.ok(spans(plain).length > 0, `the row shows what ${command} prints: ${row.says}`);
      for (const span of spans(plain)) {
        if (span.startsWith("{"))
          assert.doesNotThrow(() => JSON.parse(printed.stdout), `${command} prints ${span}, not:\n${printed.stdout}`);
        else assert.match(printed.stdout, shownAsPattern(span), `${command} prints ${span}`);
      }
      const json = await sanyao([...args(), "--data", data, "--json"]);
      for (const span of spans(withJson)) {
        const fields = Object.keys(JSON.parse(json.stdout) as object);
        for (const name of fieldNames(span)) assert.ok(fields.includes(name), `${command} --json has ${name}: ${json.stdout}`);
      }
    });
  }
});

describe("the test kit's node:test example", () => {
  const file = "examples/test-kit.test.js";

  it("is in docs/test-kit.md as the file holds it, JavaScript that Node runs as it is", () => {
    const section = doc("test-kit.md").split("## In a Node test, one line")[1]?.split("\n## ")[0] ?? "";
    const block = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.equal(block, fs.readFileSync(path.join(repoRoot, file), "utf8"), `docs/test-kit.md shows ${file} as it is`);
    assert.match(section, new RegExp(`node --test ${file.replace(/\./g, "\\.")}`), "and the command that runs it");
  });

  it("passes under node --test, run from the clone as docs/test-kit.md says", async () => {
    // as from a shell: not as a child of this test runner, which would take its report in its own protocol
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const { stdout } = await run(process.execPath, ["--test", file], { cwd: repoRoot, env, timeout: 120_000 });
    assert.match(stdout, /# pass 2\n/);
    assert.match(stdout, /# fail 0\n/);
  });
});

it("the licence package.json names is in the repository", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { license: string; files?: string[] };
  assert.equal(pkg.license, "MIT");
  const text = fs.readFileSync(path.join(repoRoot, "LICENSE"), "utf8");
  assert.match(text, /^MIT License\n\nCopyright \(c\) 2026 the sanyao authors\n/);
  assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});

describe("what users read stands alone: no spec file, no path of the machines sanyao was made on", () => {
  // the specification's files, and the shared folders beside the project where it was written
  const outside =
    /faceid-family|phone-verification\.md|api3-protocol|identity-rules\.md|kms-envelope|alibaba-cloudauth|design\.md|style\.md|\/work\/|§/;
  const textFiles = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
          const p = path.join(dir, e.name);
          return e.isDirectory() ? textFiles(p) : /\.(md|js|ts|sh|csv|yaml|yml|json)$/.test(e.name) ? [p] : [];
        })
      : [];
  const lines = (file: string) =>
    fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((text, i) => ({ where: `${path.relative(repoRoot, file)}:${i + 1}`, text }));

  it("README, CHANGELOG, docs/ and examples/", () => {
    const files = ["README.md", "CHANGELOG.md"].map((f) => path.join(repoRoot, f)).filter((f) => fs.existsSync(f));
    const found = [...files, ...textFiles(path.join(repoRoot, "docs")), ...textFiles(path.join(repoRoot, "examples"))]
      .flatMap(lines)
      .filter((l) => outside.test(l.text));
    assert.deepEqual(
      found.map((l) => `${l.where}: ${l.text.trim()}`),
      [],
    );
  });

  it("every command's --help", async () => {
    const help = async (args: string[]): Promise<string[]> => {
      const { stdout } = await sanyao([...args, "--help"]);
      const found = outside.test(stdout) ? [`sanyao ${args.join(" ")} --help`] : [];
      const commands = (stdout.split("Commands:\n")[1] ?? "").split("\n\n")[0] ?? "";
      const subs = [...commands.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1] ?? "").filter((c) => c !== "help");
      for (const sub of subs) found.push(...(await help([...args, sub])));
      return found;
    };
    assert.deepEqual(await help([]), []);
  });

  it("the type declarations of the package's exports, which an editor shows", () => {
    // every declaration file the two entry points reach, as an editor follows their imports
    const reached = new Set<string>();
    const follow = (file: string) => {
      if (reached.has(file) || !fs.existsSync(file)) return;
      reached.add(file);
      for (const m of fs.readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"|import\("(\.[^"]+)"\)/g)) {
        const target = path.resolve(path.dirname(file), m[1] ?? m[2] ?? "");
        follow(fs.existsSync(`${target}.d.ts`) ? `${target}.d.ts` : path.join(target, "index.d.ts"));
      }
    };
    follow(path.join(repoRoot, "dist/src/index.d.ts"));
    follow(path.join(repoRoot, "dist/src/testing/index.d.ts"));
    assert.ok(reached.size > 10, "the declarations are built");
    const found = [...reached].flatMap(lines).filter((l) => outside.test(l.text));
    assert.deepEqual(
      found.map((l) => `${l.where}: ${l.text.trim()}`),
      [],
    );
  });
});

it("every link in README, CHANGELOG and docs/ reaches a file of the repository, and its #anchor a heading there", () => {
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, "")
      .replace(/ /g, "-");
  const headings = (file: string) =>
    new Set(
      fs
        .readFileSync(file, "utf8")
        .replace(/^ *```[\s\S]*?^ *```/gm, "")
        .split("\n")
        .flatMap((l) => /^#{1,6} (.*)$/.exec(l)?.slice(1) ?? [])
        .map(slug),
    );
  const pages = [
    "README.md",
    "CHANGELOG.md",
    ...fs
      .readdirSync(path.join(repoRoot, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => path.join("docs", f)),
  ];
  const broken = pages.flatMap((page) =>
    [...fs.readFileSync(path.join(repoRoot, page), "utf8").matchAll(/\]\(([^)\s]+)\)/g)].flatMap((m) => {
      const [target = "", anchor] = (m[1] ?? "").split("#");
      if (/^[a-z]+:/.test(target)) return [];
      const file = target === "" ? path.join(repoRoot, page) : path.resolve(path.dirname(path.join(repoRoot, page)), target);
      if (!fs.existsSync(file)) return [`${page}: ${m[1]}`];
      return anchor !== undefined && file.endsWith(".md") && !headings(file).has(anchor) ? [`${page}: ${m[1]}`] : [];
    }),
  );
  assert.deepEqual(broken, []);
});
