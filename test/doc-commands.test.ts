/**
 * Every shell command a user reads — each line of a ```sh block in README.md and docs/*.md — runs as written: the
 * suite runs it here against a fresh installation, or another test file runs it (named below), or it is listed with
 * the reason the suite cannot (Docker, a long benchmark, hosts or secrets of the user's own). A command added to the
 * docs and to none of these fails this test, so a page cannot grow commands nobody ran.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { BIN, sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { repoRoot, tempDir } from "./helpers/server";

const run = promisify(execFile);

/** The commands the suite does not run, each with its reason. */
const notRun: Record<string, string> = {
  "npm ci && npm start": "installs the dependencies and serves until stopped; first-start.test.ts runs the serve it starts",
  "npm test": "the whole suite, which this test is part of",
  "npm run build:console": "npm test runs it before the suites; test/console/build.test.ts checks what it builds",
  "npm run screenshots": "a minute of two servers and a browser, rewriting docs/console/*.png; run when the pages change",
  "npm run bench": "the benchmark: minutes of load on a machine of its own",
  "npm run bench:import": "the import benchmark: a million rows into both backends, minutes of load",
  "SANYAO_OPS_PORT=9090 npx sanyao serve": "serves until stopped on a fixed port; operations-listener tests run it on a free one",
  "curl -s http://127.0.0.1:9090/metrics | head -n 3": "needs the server above on its fixed port",
  'curl -s -o /dev/null -w "%{http_code}\\n" http://127.0.0.1:8080/metrics': "needs the server above on its fixed port",
  "SANYAO_OPS_PORT=9090 npx sanyao requests": "needs the server above on its fixed port",
  "npx sanyao verify --phone 13800001234 --name 张三 --idcard 110105199003072143 --encrypt --kms-key <KeyId>":
    "needs the KeyId the command before it printed; first-start.test.ts runs the KMS flow",
  "npx sanyao explain REQUEST_ID": "needs the RequestId of a refused call; the diagnosis tests run explain on one",
  "npx sanyao secret create --out /etc/sanyao/secret": "scale-out: writes under /etc on the user's machine",
  "export SANYAO_SECRET_FILE=/etc/sanyao/secret": "scale-out: the user's secret file",
  "export SANYAO_DATABASE_URL=postgres://sanyao@db.internal:5432/sanyao": "scale-out: the user's PostgreSQL host",
  "export SANYAO_REDIS_URL=redis://cache.internal:6379": "scale-out: the user's Redis host",
  "npx sanyao serve --host 0.0.0.0 --port 8080": "scale-out: serves until stopped, on the user's hosts",
  "npx sanyao accounts create --name team-a --json": "scale-out: on the user's PostgreSQL (this test runs accounts create)",
  "npx sanyao records import subscribers.csv": "scale-out: the user's own records file",
  "docker build -t sanyao .": "needs Docker; npm run test:image builds the image",
  "docker run -d --name sanyao -p 8080:8080 -v sanyao-data:/data sanyao": "needs Docker; npm run test:image runs it",
  "docker logs sanyao": "needs Docker",
  "docker exec sanyao sanyao accounts list": "needs Docker",
  'echo "SANYAO_SECRET=$(openssl rand -hex 32)" >> .env': "writes the user's .env for compose",
  "docker compose up -d --build": "needs Docker and compose; npm run test:image checks compose.yaml",
};

/** The commands another test file runs as written: the file, which names the command's script. */
const runElsewhere: Record<string, { file: string; names: string }> = {
  "sh examples/ephemeral.sh": { file: "ephemeral.test.ts", names: "examples/ephemeral.sh" },
  "sh examples/gateway.sh": { file: "ephemeral.test.ts", names: "examples/gateway.sh" },
  "SANYAO_SECRET_ID=AKID… SANYAO_SECRET_KEY=… node examples/encrypted-verification.js": {
    file: "first-start.test.ts",
    names: "examples/encrypted-verification.js",
  },
  "SANYAO_SECRET_ID=AKID… SANYAO_SECRET_KEY=… node dist/examples/client.js": {
    file: "first-start.test.ts",
    names: "dist/examples/client.js",
  },
};

interface Block {
  where: string;
  commands: string[];
}

/** The ```sh blocks of the README and docs/, each as its commands: comments and blank lines out, `\` lines joined. */
function shellBlocks(): Block[] {
  const docs = fs.readdirSync(path.join(repoRoot, "docs")).filter((f) => f.endsWith(".md"));
  const files = ["README.md", ...docs.map((f) => path.join("docs", f))];
  return files.flatMap((file) => {
    const text = fs.readFileSync(path.join(repoRoot, file), "utf8");
    // a block may be indented, inside a list item
    return [...text.matchAll(/^( *)```sh\n([\s\S]*?)^ *```/gm)].map((m) => {
      const line = text.slice(0, m.index).split("\n").length;
      const commands = (m[2] ?? "")
        .replace(/\\\n\s*/g, "")
        .split("\n")
        .map((l) => l.replace(/\s{2,}#.*$/, "").trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
      return { where: `${file}:${line}`, commands };
    });
  });
}

const blocks = shellBlocks();

it("every command in a ```sh block is run by the suite or listed with the reason it is not", () => {
  assert.ok(blocks.length >= 15, "the docs' shell blocks are found");
  const all = blocks.flatMap((b) => b.commands);
  for (const [command, { file, names }] of Object.entries(runElsewhere)) {
    assert.ok(all.includes(command), `runElsewhere lists a command no page has: ${command}`);
    assert.ok(fs.readFileSync(path.join(repoRoot, "test", file), "utf8").includes(names), `${file} runs ${names}`);
  }
  for (const command of Object.keys(notRun)) assert.ok(all.includes(command), `notRun lists a command no page has: ${command}`);
});

describe("the docs' shell commands run as written against a fresh installation", () => {
  const dir = tempDir();
  const data = path.join(dir, "data");
  let server: ServeProcess;
  let accountId = "";
  before(async () => {
    server = await serveProcess(["--data", data]);
    accountId = JSON.parse((await sanyao(["accounts", "list", "--data", data, "--json"])).stdout).accounts[0].accountId;
    // the pages' relative paths, from a directory of their own so what they write stays there
    fs.symlinkSync(path.join(repoRoot, "examples"), path.join(dir, "examples"));
  });
  after(() => server.stop());

  for (const block of blocks) {
    const commands = block.commands.filter((c) => !(c in notRun) && !(c in runElsewhere));
    if (commands.length === 0) continue;
    it(`${block.where}: ${commands[0]}`, async () => {
      // `npx sanyao` is the project's bin, as npx resolves it in a clone, without npx's seconds of start-up
      const script = [
        "set -e",
        `npx() { if [ "$1" = sanyao ]; then shift; "${process.execPath}" "${BIN}" "$@"; else command npx "$@"; fi; }`,
        ...commands.map((c) => c.replace(/<account id>/g, accountId).replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${server.port}`)),
      ].join("\n");
      const env = { ...process.env, SANYAO_DATA_DIR: data, SANYAO_ENDPOINT: server.url };
      await run("sh", ["-c", script], { cwd: dir, env, timeout: 60_000 }).catch((e: Error & { stdout?: string; stderr?: string }) => {
        assert.fail(`${block.where} failed:\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
      });
    });
  }
});

it("every sanyao command the docs show, run or not, exists and answers --help", async () => {
  const paths = new Set(
    blocks
      .flatMap((b) => b.commands)
      .flatMap((c) => [...c.matchAll(/npx sanyao ([^|;&$]*)/g)])
      .map((m) => {
        const words = (m[1] ?? "").trim().split(/\s+/);
        const end = words.findIndex((w) => !/^[a-z][a-z-]*$/.test(w));
        return words.slice(0, Math.min(end === -1 ? words.length : end, 2)).join(" ");
      }),
  );
  assert.ok(paths.size >= 8, `the docs' sanyao commands are found: ${[...paths].join(", ")}`);
  for (const command of paths) {
    const help = await sanyao([...command.split(" "), "--help"]);
    assert.equal(help.code, 0, `sanyao ${command} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: sanyao ${command} `, "m"), `sanyao ${command} is a command`);
  }
});
