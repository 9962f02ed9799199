/**
 * The container image (`npm run test:image`, not part of `npm test`): builds it from the Dockerfile, then runs it
 * embedded (the official SDK's signed call answers, the health check turns healthy, SIGTERM drains and exits 0, the
 * volume keeps the data across containers), then two containers in scale-out on this machine's PostgreSQL and Redis
 * sharing one rate limit, and checks compose.yaml with docker-compose. Containers and volumes it made are removed
 * at the end, passed or failed. Needs a Docker engine (on these machines: ../shared/tools/docker-engine.sh base).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { Client } from "pg";
import { faceidSdk } from "../helpers/sdk";
import { tempDir } from "../helpers/server";
import { ensureServices, PG_URL, REDIS_URL } from "../helpers/services";
import { buildImage, cliIn, docker, dockerOk, freePort, Made, run, untilHealthy } from "./docker";

const skip = process.env.SANYAO_TEST_IMAGE ? false : "the container image is tested by `npm run test:image`";
const IMAGE = process.env.SANYAO_TEST_IMAGE_TAG || "sanyao:test";
const RUN_ID = randomBytes(4).toString("hex");
const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

interface Started {
  name: string;
  port: number;
  /** `docker run` in two steps, in ms: making the container (the storage driver copies the image's files) … */
  created: number;
  /** … then from its start to the first 200 from /readyz (polled here every 100 ms) … */
  toReady: number;
  /** … and to the health check's first "healthy" */
  toHealthy: number;
}

const timings = (s: Started) => `created in ${s.created} ms, then ready in ${s.toReady} ms, healthy in ${s.toHealthy} ms`;

/** Polls /readyz until it answers 200; the time since `since` (ms). */
async function untilReady(port: number, since: number): Promise<number> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return Date.now() - since;
    if (Date.now() - since > 120_000) throw new Error(`/readyz on ${port} not 200 within 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `docker run` on the host's network, as `docker create` and `docker start` to time each; then waits for the
 * image's own health check to say healthy.
 */
async function startContainer(made: Made, name: string, env: Record<string, string>, volume?: string): Promise<Started> {
  const port = await freePort();
  const envArgs = Object.entries({ ...env, SANYAO_PORT: String(port) }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const volumeArgs = volume ? ["-v", `${volume}:/data`] : [];
  const creating = Date.now();
  await dockerOk("create", "--network", "host", "--name", made.container(name), ...envArgs, ...volumeArgs, IMAGE);
  const started = Date.now();
  await dockerOk("start", name);
  const [toReady, toHealthy] = await Promise.all([untilReady(port, started), untilHealthy(name, started)]);
  return { name, port, created: started - creating, toReady, toHealthy };
}

async function logsOf(container: string): Promise<string> {
  const res = await docker("logs", container);
  return res.stdout + res.stderr;
}

/** `docker stop -t 10`: SIGTERM, and SIGKILL only if the server has not left within 10 s (exit code 137). */
async function stopContainer(container: string): Promise<{ exitCode: number; ms: number }> {
  const started = Date.now();
  await dockerOk("stop", "-t", "10", container);
  const ms = Date.now() - started;
  return { exitCode: Number((await dockerOk("inspect", "-f", "{{.State.ExitCode}}", container)).trim()), ms };
}

function sdk(port: number, key: { secretId: string; secretKey: string }) {
  return faceidSdk(port, key, { httpProfile: { endpoint: `127.0.0.1:${port}` } });
}

const charged = (usage: unknown): number => {
  const totals = typeof usage === "object" && usage !== null && "totals" in usage ? usage.totals : undefined;
  const value = typeof totals === "object" && totals !== null && "charged" in totals ? totals.charged : undefined;
  assert.equal(typeof value, "number", `usage --json: ${JSON.stringify(usage)}`);
  return Number(value);
};

describe("the container image", { skip }, () => {
  const made = new Made();

  before(
    async () => {
      const info = await docker("info", "--format", "{{.ServerVersion}}");
      assert.equal(
        info.code,
        0,
        `no Docker engine answers (${info.stderr.trim()}); on these machines start one with ../shared/tools/docker-engine.sh base`,
      );
      const built = await buildImage(IMAGE);
      const size = (await dockerOk("image", "ls", "--format", "{{.Size}}", IMAGE)).trim();
      process.stderr.write(`image ${IMAGE}: built in ${(built.ms / 1000).toFixed(1)} s, ${size}\n`);
    },
    { timeout: 30 * 60_000 },
  );
  after(() => made.removeAll());

  describe("one container, embedded", () => {
    const volume = made.volume(`sanyao-it-${RUN_ID}-data`);
    let first: Started;
    let key: { secretId: string; secretKey: string };

    before(async () => {
      first = await startContainer(made, `sanyao-it-${RUN_ID}-a`, {}, volume);
      process.stderr.write(`embedded: ${timings(first)}\n`);
      const banner = await logsOf(first.name);
      const secretId = /SecretId:\s+(\S+)/.exec(banner)?.[1];
      const secretKey = /SecretKey:\s+(\S+)/.exec(banner)?.[1];
      assert.ok(secretId && secretKey, `the first start prints the demo key:\n${banner}`);
      key = { secretId, secretKey };
    });

    it("runs as the user node, with the data directory in the volume", async () => {
      assert.equal((await dockerOk("exec", first.name, "id", "-un")).trim(), "node");
      assert.match(await dockerOk("exec", first.name, "ls", "/data"), /secret/);
    });

    it("serves the web console's page and its assets (dist/console ships in the image)", async () => {
      const page = await fetch(`http://127.0.0.1:${first.port}/_sanyao/console/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      const script = /src="(\/_sanyao\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, html);
      assert.equal((await fetch(`http://127.0.0.1:${first.port}${script}`)).status, 200);
    });

    it("answers the official SDK's signed call with Result 0 and charges it once", async () => {
      const response = await sdk(first.port, key).PhoneVerification(ZHANG);
      assert.equal(response.Result, "0", JSON.stringify(response));
      assert.equal(charged(await cliIn(first.name, "usage")), 1);
    });

    it("SIGTERM: the server drains and exits 0 before docker's 10 s run out", async (t) => {
      const stopped = await stopContainer(first.name);
      t.diagnostic(`docker stop took ${stopped.ms} ms`);
      assert.equal(stopped.exitCode, 0, await logsOf(first.name));
      assert.match(await logsOf(first.name), /SIGTERM: answering the requests in flight, then stopping/);
    });

    it("a new container on the same volume keeps the installation: the same key answers, the ledger row is there", async () => {
      await dockerOk("rm", first.name);
      const second = await startContainer(made, `sanyao-it-${RUN_ID}-b`, {}, volume);
      process.stderr.write(`embedded, again on the volume: ${timings(second)}\n`);
      const banner = await logsOf(second.name);
      assert.doesNotMatch(banner, /First start/);
      assert.equal(charged(await cliIn(second.name, "usage")), 1, "the charge made in the first container");
      const response = await sdk(second.port, key).PhoneVerification(ZHANG);
      assert.equal(response.Result, "0", JSON.stringify(response));
      assert.equal(charged(await cliIn(second.name, "usage")), 2);
      assert.equal((await stopContainer(second.name)).exitCode, 0);
    });
  });

  describe("two containers in scale-out on PostgreSQL and Redis", () => {
    // A database of the image tests' own, a schema and a Redis prefix of this run's own.
    const database = "sanyao_image_test";
    const schema = `img_${RUN_ID}`;
    const redisPrefix = `sanyao-image:${RUN_ID}:`;
    const databaseUrl = PG_URL.replace(/\/[^/]*$/, `/${database}`);
    const instances: Started[] = [];

    before(async () => {
      await ensureServices();
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      const exists = await pg.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
      if (exists.rowCount === 0) await pg.query(`CREATE DATABASE ${database}`);
      await pg.end();
      const env = {
        SANYAO_DATABASE_URL: databaseUrl,
        SANYAO_DATABASE_SCHEMA: schema,
        SANYAO_REDIS_URL: REDIS_URL,
        SANYAO_REDIS_PREFIX: redisPrefix,
        SANYAO_SECRET: randomBytes(32).toString("hex"),
        // Both servers' clocks stand at one instant: every call of the burst counts in the same second.
        SANYAO_CLOCK: String(Date.now()),
        SANYAO_RATE_LIMIT: "5",
        SANYAO_DAILY_CAP: "0",
      };
      // One after the other, as compose.yaml starts them: the first migrates the schema.
      for (const n of [1, 2]) instances.push(await startContainer(made, `sanyao-it-${RUN_ID}-s${n}`, env));
      for (const s of instances) process.stderr.write(`scale-out ${s.name}: ${timings(s)}\n`);
    });
    after(async () => {
      const pg = new Client({ connectionString: databaseUrl });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.end();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });

    it("20 calls split over the two in one second of a 5/s limit: exactly 5 admitted", async (t) => {
      const [one, two] = instances;
      assert.ok(one && two);
      const account = await cliIn(one.name, "accounts", "create", "--name", "image-test");
      assert.ok(typeof account === "object" && account !== null && "accountId" in account && typeof account.accountId === "string");
      const created = await cliIn(one.name, "keys", "create", "--account", account.accountId);
      assert.ok(typeof created === "object" && created !== null && "secretId" in created && "secretKey" in created);
      const key = { secretId: String(created.secretId), secretKey: String(created.secretKey) };
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sdk((i % 2 === 0 ? one : two).port, key)
            .PhoneVerification({ ...ZHANG, Phone: "13900009999" })
            .then(
              (r: { Result: string }) => `Result ${r.Result}`,
              (err: { code?: string }) => String(err.code),
            ),
        ),
      );
      const admitted = answers.filter((a) => a.startsWith("Result")).length;
      const limited = answers.filter((a) => a === "RequestLimitExceeded").length;
      t.diagnostic(`answers: ${JSON.stringify(answers)}`);
      assert.deepEqual([admitted, limited], [5, 15]);
    });

    it("both stop on SIGTERM with exit code 0", async () => {
      for (const s of instances) assert.equal((await stopContainer(s.name)).exitCode, 0, await logsOf(s.name));
    });
  });

  describe("compose.yaml", () => {
    // An empty --env-file: the variables given here count, not a developer's .env
    const emptyEnvFile = path.join(tempDir("sanyao-image-"), "empty.env");
    fs.writeFileSync(emptyEnvFile, "");
    const compose = (env: Record<string, string>, ...args: string[]) =>
      run("docker-compose", ["--env-file", emptyEnvFile, "-f", "compose.yaml", ...args], env);
    const secret = { SANYAO_SECRET: randomBytes(32).toString("hex") };

    it("is valid for docker-compose, with PostgreSQL, Redis and two sanyao instances", async () => {
      const checked = await compose(secret, "config", "-q");
      assert.equal(checked.code, 0, checked.stderr);
      const services = await compose(secret, "config", "--services");
      assert.deepEqual(services.stdout.trim().split("\n").sort(), ["postgres", "redis", "sanyao-1", "sanyao-2"]);
    });

    it("refuses to start without the shared installation secret, and says how to make one", async () => {
      const refused = await compose({ SANYAO_SECRET: "" }, "config", "-q");
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /SANYAO_SECRET=<64 hex characters> in \.env/);
    });
  });
});
