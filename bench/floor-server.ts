/**
 * The floor (issue 22): the least a Node process must do to answer the benchmark's signed PhoneVerification calls
 * honestly, written plainly with node:http, node:crypto and better-sqlite3. It shares no code with src/ on
 * purpose: what it costs is what the work costs, not what sanyao's layers cost. Per request, and nothing more:
 *
 * - TC3-HMAC-SHA256 verification of the Authorization header against its one SecretId (±300 s, the signing key
 *   kept per SecretId and day), the host signed without its port as the Node SDK does (with it, as Go does, after);
 * - the JSON body; the phone's shape (11 digits, 1[3-9]), the identity number's layout and check character, and
 *   a Han or Latin name (so the benchmark's -6, -7 and -8 are answered as sanyao answers them);
 * - three keyed hashes (HMAC-SHA256 under a key derived from the installation's secret, as sanyao keys records),
 *   one SQLite point read of the phone's hash in sanyao's records.db;
 * - a per-second counter (the SecretId's rate limit) and a per-day counter (the phone's attempts) in memory;
 * - a ledger row (charged Results) and an audit row, written in one group commit every 2 ms before the answer,
 *   into a SQLite file of its own (WAL, synchronous=NORMAL, as sanyao's store by default);
 * - a JSON log line into a buffered stream; the envelope with Result, Description, Isp and a RequestId.
 *
 * Not done, since the benchmark's requests never need it: v1 signatures, other actions, encrypted fields, the
 * region and birth-date checks of identity numbers, number segments beyond their first three digits (-13).
 *
 * Run: node dist/bench/floor-server.js '{"dataDir":…,"secretId":…,"secretKey":…,"ledgerFile":…,"logFile":…}'
 * Prints "listening PORT" once it listens on 127.0.0.1.
 */
import Database from "better-sqlite3";
import { createHmac, hash, hkdfSync, randomUUID, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

interface FloorSpec {
  /** sanyao's data directory: its `secret` file and its `records.db` */
  dataDir: string;
  secretId: string;
  secretKey: string;
  /** the floor's own ledger and audit (created) */
  ledgerFile: string;
  /** where the log lines go (default /dev/null) */
  logFile?: string;
}

function readSpec(arg: string | undefined): FloorSpec {
  const value: unknown = JSON.parse(arg ?? "{}");
  if (typeof value !== "object" || value === null) throw new Error("floor-server: expected a JSON object");
  const text = (name: string): string => {
    const v = (value as Record<string, unknown>)[name];
    if (typeof v !== "string" || v === "") throw new Error(`floor-server: "${name}" must be a non-empty string`);
    return v;
  };
  const logFile = (value as Record<string, unknown>).logFile;
  return {
    dataDir: text("dataDir"),
    secretId: text("secretId"),
    secretKey: text("secretKey"),
    ledgerFile: text("ledgerFile"),
    logFile: typeof logFile === "string" ? logFile : undefined,
  };
}

const spec = readSpec(process.argv[2]);

const RATE_LIMIT_PER_SECOND = 1_000_000; // the bench account's
const DAILY_CAP = 0; // attempts per number a day; 0: none (the bench account's)
const UNIT_PRICE = 100; // fen per charged answer
const COMMIT_EVERY_MS = 2;
const LOG_BUFFER_CHARS = 4096;
const MAX_BODY_BYTES = 1 << 20;
const TIMESTAMP_WINDOW_S = 300;

// ---- keys: the records' keyed hash, as sanyao derives it from the installation secret ----

const secretHex = fs.readFileSync(path.join(spec.dataDir, "secret"), "utf8").trim();
const recordsHashKey = Buffer.from(hkdfSync("sha256", Buffer.from(secretHex, "hex"), Buffer.alloc(0), "sanyao/records-hash/v1", 32));

// ---- the records: one point read by the phone's keyed hash ----

const records = new Database(path.join(spec.dataDir, "records.db"), { readonly: true, fileMustExist: true });
records.pragma("cache_size = -65536");
records.pragma("mmap_size = 17179869184");
interface RecordRow {
  name_hash: Buffer;
  idcard_hash: Buffer;
  carrier: string;
  status: string;
}
const findRecord = records.prepare<[Buffer], RecordRow>("SELECT name_hash, idcard_hash, carrier, status FROM records WHERE phone_hash = ?");
// HMAC-SHA256 cut to the width the records keep (16 bytes, or the whole 32 where the file keeps them whole).
const widthRow = records.prepare<[], { n: number }>("SELECT length(phone_hash) AS n FROM records LIMIT 1").get();
const HASH_BYTES = widthRow?.n ?? 16;

function keyedHash(field: "phone" | "name" | "idcard", value: string): Buffer {
  const digest = createHmac("sha256", recordsHashKey).update(`${field}\u0000${value}`).digest();
  return HASH_BYTES < digest.length ? digest.subarray(0, HASH_BYTES) : digest;
}

// ---- the ledger and the audit: a group commit every 2 ms, each answer sent after its rows are committed ----

const ledgerDb = new Database(spec.ledgerFile);
ledgerDb.pragma("journal_mode = WAL");
ledgerDb.pragma("synchronous = NORMAL");
ledgerDb.exec(`
  CREATE TABLE IF NOT EXISTS ledger (request_id TEXT NOT NULL, secret_id TEXT NOT NULL, action TEXT NOT NULL,
    unit_price INTEGER NOT NULL, at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS audit (at INTEGER NOT NULL, request_id TEXT NOT NULL, secret_id TEXT NOT NULL,
    action TEXT NOT NULL, code TEXT NOT NULL, subject TEXT NOT NULL, latency_us INTEGER NOT NULL);
`);
const insertLedger = ledgerDb.prepare("INSERT INTO ledger (request_id, secret_id, action, unit_price, at) VALUES (?, ?, ?, ?, ?)");
const insertAudit = ledgerDb.prepare(
  "INSERT INTO audit (at, request_id, secret_id, action, code, subject, latency_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
);

interface Pending {
  requestId: string;
  code: string;
  charged: boolean;
  subject: string;
  at: number;
  started: bigint;
  send: (committed: boolean) => void;
}
let pending: Pending[] = [];
let commitTimer: NodeJS.Timeout | undefined;

const writeRows = ledgerDb.transaction((rows: readonly Pending[]) => {
  for (const p of rows) {
    if (p.charged) insertLedger.run(p.requestId, spec.secretId, "PhoneVerification", UNIT_PRICE, p.at);
    const latencyUs = Number((process.hrtime.bigint() - p.started) / 1000n);
    insertAudit.run(p.at, p.requestId, spec.secretId, "PhoneVerification", p.code, p.subject, latencyUs);
  }
});

function commit(): void {
  commitTimer = undefined;
  const rows = pending;
  pending = [];
  let committed = true;
  try {
    writeRows(rows);
  } catch (err) {
    committed = false;
    process.stderr.write(`floor-server: commit failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  for (const p of rows) p.send(committed);
}

function afterCommit(p: Pending): void {
  pending.push(p);
  commitTimer ??= setTimeout(commit, COMMIT_EVERY_MS);
}

// ---- the log: JSON lines, buffered, written 4 KiB at a time (and every second) ----

const logFd = fs.openSync(spec.logFile ?? "/dev/null", "a");
let logBuffer = "";
let logWriting = false;
function writeLog(): void {
  if (logWriting || logBuffer === "") return;
  const chunk = logBuffer;
  logBuffer = "";
  logWriting = true;
  fs.write(logFd, chunk, () => {
    logWriting = false;
    if (logBuffer.length >= LOG_BUFFER_CHARS) writeLog();
  });
}
function logLine(fields: Record<string, string | number>): void {
  logBuffer += `${JSON.stringify(fields)}\n`;
  if (logBuffer.length >= LOG_BUFFER_CHARS) writeLog();
}
setInterval(writeLog, 1000).unref();

// ---- counters in memory ----

let second = 0;
let callsThisSecond = 0;
let day = "";
let attemptsToday = new Map<string, number>();

// ---- TC3-HMAC-SHA256 ----

const signingKeys = new Map<string, Buffer>();
function signingKey(date: string, service: string): Buffer {
  const id = `${date}/${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    const kDate = createHmac("sha256", `TC3${spec.secretKey}`).update(date).digest();
    const kService = createHmac("sha256", kDate).update(service).digest();
    key = createHmac("sha256", kService).update("tc3_request").digest();
    signingKeys.set(id, key);
  }
  return key;
}

const AUTHORIZATION =
  /^TC3-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{4}-\d{2}-\d{2})\/([a-z]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headerText(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  return typeof v === "string" ? v.trim() : "";
}

/** Refuses the call unless its signature is the one SecretId's over this body. */
function verifySignature(req: http.IncomingMessage, body: Buffer, nowS: number): void {
  const m = AUTHORIZATION.exec(headerText(req, "authorization"));
  if (!m) throw new Refusal("AuthFailure.InvalidAuthorization", "The Authorization header is malformed.");
  const [, secretId = "", date = "", service = "", signedHeaders = "", signature = ""] = m;
  const timestamp = headerText(req, "x-tc-timestamp");
  const ts = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowS - ts) > TIMESTAMP_WINDOW_S) {
    throw new Refusal("AuthFailure.SignatureExpire", "The signature expired.");
  }
  if (secretId !== spec.secretId) throw new Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found.");
  if (date !== new Date(ts * 1000).toISOString().slice(0, 10)) throw new Refusal("AuthFailure.SignatureFailure", "The signature is wrong.");
  const names = signedHeaders.split(";");
  const key = signingKey(date, service);
  const scope = `${date}/${service}/tc3_request`;
  const payloadHash = hash("sha256", body, "hex");
  const host = headerText(req, "host").toLowerCase();
  const hostWithoutPort = host.replace(/:\d+$/, "");
  for (const signedHost of hostWithoutPort === host ? [host] : [hostWithoutPort, host]) {
    let canonicalHeaders = "";
    for (const name of names) canonicalHeaders += `${name}:${name === "host" ? signedHost : headerText(req, name).toLowerCase()}\n`;
    const canonical = `${req.method}\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const toSign = `TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${hash("sha256", canonical, "hex")}`;
    const expected = createHmac("sha256", key).update(toSign).digest("hex");
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return;
  }
  throw new Refusal("AuthFailure.SignatureFailure", "The signature is wrong.");
}

// ---- the three elements ----

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";
function idCardValid(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * (ID_WEIGHTS[i] ?? 0);
  return ID_CHECK[sum % 11] === id[17];
}

const HAN_NAME = /^\p{Unified_Ideograph}+(?:\u00B7\p{Unified_Ideograph}+)*$/u;
const LATIN_NAME = /^\p{Script=Latin}[\p{Script=Latin}' .-]*\p{Script=Latin}$/u;
/** The name as it is hashed, or undefined when it is no name. */
function normalisedName(name: string): string | undefined {
  if (HAN_NAME.test(name)) return name.length >= 2 && name.length <= 32 ? name : undefined;
  return LATIN_NAME.test(name) && name.length <= 64 ? name.toLowerCase() : undefined;
}

/** The carrier of a number's first three digits (public segments only). */
const CARRIERS = new Map<string, string>();
for (const [carrier, prefixes] of [
  ["mobile", "134 135 136 137 138 139 147 150 151 152 157 158 159 172 178 182 183 184 187 188 195 197 198"],
  ["cucc", "130 131 132 145 155 156 166 175 176 185 186 196"],
  ["telecom", "133 149 153 173 177 180 181 189 190 191 193 199"],
  ["broadnet", "192"],
] as const) {
  for (const prefix of prefixes.split(" ")) CARRIERS.set(prefix, carrier);
}

const DESCRIPTIONS: Record<string, { en: string; zh: string; charged: boolean }> = {
  "0": { en: "Authentication passed", zh: "认证通过", charged: true },
  "-4": { en: "Information inconsistency", zh: "信息不一致", charged: true },
  "-6": { en: "Invalid phone number", zh: "手机号码不合法", charged: false },
  "-7": { en: "Identity number error", zh: "身份证号码有误", charged: false },
  "-8": { en: "Name verification failed", zh: "姓名校验不通过", charged: false },
  "-9": { en: "No records", zh: "没有记录", charged: false },
  "-11": { en: "The Verification Center Service is busy", zh: "验证中心服务繁忙", charged: false },
  "-12": {
    en: "Authentication attempts exceeded the daily limit. Retry the next day.",
    zh: "认证次数超过当日限制，请次日重试",
    charged: false,
  },
};
const ISP_ZH: Record<string, string> = { mobile: "移动", telecom: "电信", cucc: "联通", broadnet: "广电", "": "" };

/** The Result of the three elements, and the carrier to answer. */
function verify(phone: string, name: string, idCard: string, nowMs: number): { result: string; carrier: string } {
  if (!/^1[3-9]\d{9}$/.test(phone)) return { result: "-6", carrier: "" };
  const segmentCarrier = CARRIERS.get(phone.slice(0, 3)) ?? "";
  if (!idCardValid(idCard)) return { result: "-7", carrier: segmentCarrier };
  const normalName = normalisedName(name);
  if (normalName === undefined) return { result: "-8", carrier: segmentCarrier };

  const phoneHash = keyedHash("phone", phone);
  const today = new Date(nowMs + 8 * 3600_000).toISOString().slice(0, 10); // China's day
  if (today !== day) {
    day = today;
    attemptsToday = new Map();
  }
  const counterKey = phoneHash.toString("latin1");
  const attempts = (attemptsToday.get(counterKey) ?? 0) + 1;
  if (DAILY_CAP > 0 && attempts > DAILY_CAP) return { result: "-12", carrier: segmentCarrier };
  attemptsToday.set(counterKey, attempts);

  const record = findRecord.get(phoneHash);
  if (!record) return { result: "-9", carrier: segmentCarrier };
  const carrier = record.carrier || segmentCarrier;
  if (record.status === "busy") return { result: "-11", carrier: segmentCarrier };
  if (record.status !== "active") return { result: "-4", carrier };
  const nameMatches = keyedHash("name", normalName).equals(record.name_hash);
  const idMatches = keyedHash("idcard", idCard).equals(record.idcard_hash);
  return { result: nameMatches && idMatches ? "0" : "-4", carrier };
}

// ---- one request ----

function send(res: http.ServerResponse, envelope: unknown): void {
  const payload = JSON.stringify(envelope);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }).end(payload);
}

function refuse(res: http.ServerResponse, requestId: string, code: string, message: string): void {
  send(res, { Response: { Error: { Code: code, Message: message }, RequestId: requestId } });
  logLine({ time: Date.now(), level: "info", requestId, action: "PhoneVerification", code });
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, started: bigint): void {
  const requestId = randomUUID();
  const nowMs = Date.now();
  try {
    verifySignature(req, body, Math.floor(nowMs / 1000));
    if (headerText(req, "x-tc-action") !== "PhoneVerification") throw new Refusal("InvalidAction", "Only PhoneVerification is served.");
    const nowS = Math.floor(nowMs / 1000);
    if (nowS !== second) {
      second = nowS;
      callsThisSecond = 0;
    }
    if (++callsThisSecond > RATE_LIMIT_PER_SECOND) throw new Refusal("RequestLimitExceeded", "Too many requests this second.");
    let params: unknown;
    try {
      params = JSON.parse(body.toString("utf8"));
    } catch {
      throw new Refusal("InvalidParameter", "The body is not valid JSON.");
    }
    const {
      Phone: phone,
      Name: name,
      IdCard: idCard,
    } = (typeof params === "object" && params !== null ? params : {}) as Record<string, unknown>;
    if (typeof phone !== "string" || typeof name !== "string" || typeof idCard !== "string") {
      throw new Refusal("MissingParameter", "Phone, Name and IdCard are required strings.");
    }
    const zh = headerText(req, "x-tc-language") === "zh-CN";
    const { result, carrier } = verify(phone, name, idCard, nowMs);
    const info = DESCRIPTIONS[result] ?? { en: "", zh: "", charged: false };
    const subject = /^\d{11}$/.test(phone) ? `${phone.slice(0, 3)}****${phone.slice(7)}` : `*(${phone.length})`;
    afterCommit({
      requestId,
      code: result,
      charged: info.charged,
      subject,
      at: nowMs,
      started,
      send(committed) {
        if (!committed) return refuse(res, requestId, "FailedOperation.UnKnown", "The outcome could not be recorded.");
        send(res, {
          Response: {
            Result: result,
            Description: zh ? info.zh : info.en,
            Isp: zh ? (ISP_ZH[carrier] ?? "") : carrier,
            RequestId: requestId,
          },
        });
        logLine({
          time: nowMs,
          level: "info",
          requestId,
          action: "PhoneVerification",
          code: result,
          subject,
          latencyUs: Number((process.hrtime.bigint() - started) / 1000n),
        });
      },
    });
  } catch (err) {
    if (err instanceof Refusal) refuse(res, requestId, err.code, err.message);
    else refuse(res, requestId, "InternalError", "Internal error.");
  }
}

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > MAX_BODY_BYTES) return refuse(res, randomUUID(), "RequestSizeLimitExceeded", "The body is too large.");
    answer(req, res, chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks), started);
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`);
});

process.on("SIGTERM", () => {
  server.close(() => {
    if (commitTimer) clearTimeout(commitTimer);
    commit();
    if (logBuffer !== "") fs.writeSync(logFd, logBuffer);
    ledgerDb.close();
    records.close();
    process.exit(0);
  });
  server.closeAllConnections();
});
