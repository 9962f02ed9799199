/**
 * No well-formedness oracle on AES-256-CBC fields (issue 19 item 4). A bad padding and a value not well formed
 * answer alike, but a value that opens well formed goes on to a Result: with the IV the caller's, flipping bits of
 * the IV over a digit keeps or breaks "11 digits", and each answer tells a digit's class. So each ciphertext block,
 * under its data key, opens under one predecessor only (the IV, or the block before it) for a window after it was
 * first seen, wherever the call lands: a captured field sent after another IV, cut, or moved behind a block of the
 * caller's answers DecryptSystemError and counts against the budget; the honest client's retry is served.
 */
import assert from "node:assert/strict";
import { constants, createCipheriv, publicEncrypt, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { BLOCK_PIN_BOUNDS } from "../src/limits/block-pins";
import { callTc3, type Key } from "./helpers/call";
import { describeBackends, serversOnOneInstallation, startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
/** An identity number whose first 11 characters are a mobile number's (Hebei, segment 130). */
const HEBEI_ID = "130102199003072148";
const BUDGET = 20;
const WINDOW_MS = 600_000;
/** A fixed clock one second into a window. */
const NOW = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 1000;
const DECRYPT_FAILURE = "FailedOperation.DecryptSystemError";
/** a call answered as what its fields open to */
const RESULT = /^Result -?\d+$/;

/** A request as a client encrypts it: one data key wrapped for the installation, one IV, the listed fields. */
interface Captured {
  blob: string;
  iv: Buffer;
  /** each encrypted field's ciphertext */
  fields: Record<string, Buffer>;
}

function encrypt(rsaPem: string, values: Record<string, string>): Captured {
  const dataKey = randomBytes(32);
  const iv = randomBytes(16);
  const fields: Record<string, Buffer> = {};
  for (const [field, text] of Object.entries(values)) {
    const c = createCipheriv("aes-256-cbc", dataKey, iv);
    fields[field] = Buffer.concat([c.update(text), c.final()]);
  }
  const blob = publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, dataKey).toString("base64");
  return { blob, iv, fields };
}

const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ (b[i] ?? 0)));
const withByte = (iv: Buffer, pos: number, delta: number) => {
  const out = Buffer.from(iv);
  out[pos] = (out[pos] ?? 0) ^ delta;
  return out;
};

describeBackends("no well-formedness oracle on AES-256-CBC fields", (backend) => {
  // Two instances on one installation in scale-out (the pins are kept in Redis); one embedded server otherwise.
  let servers: TestServer[];
  let honest: Key;
  let rsaPem: string;
  let newKey: (name: string) => Promise<Key>;
  before(async () => {
    const started = await serversOnOneInstallation(backend); // the default budget: 20 failures per 600 s
    const [first] = started;
    servers = started;
    for (const s of servers) s.setNow(NOW);
    newKey = (name) => first.addAccount(name);
    honest = await newKey("honest");
    await first.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
    rsaPem = (await first.installation.envelopeKeys()).rsaPublicPem;
  });
  after(async () => {
    for (const s of [...servers].reverse()) await s.close();
  });

  let calls = 0;
  /** PhoneVerification of Zhang's with the listed fields replaced by ciphertexts, on the instances in turn */
  const send = async (key: Key, blob: string, iv: Buffer, fields: Record<string, Buffer>, now = NOW): Promise<string> => {
    const server = servers[calls++ % servers.length];
    if (!server) throw new Error("no server started");
    const encrypted = Object.fromEntries(Object.entries(fields).map(([f, data]) => [f, data.toString("base64")]));
    const params = { ...ZHANG, ...encrypted, CiphertextBlob: blob, EncryptList: Object.keys(fields), Iv: iv.toString("base64") };
    const r = (await callTc3(server.port, key, params, { timestamp: Math.floor(now / 1000) })).json.Response;
    return r.Error?.Code ?? `Result ${String(r.Result)}`;
  };

  it("a captured phone's digits are not learnt from which probes open well formed", async (t) => {
    const attacker = await newKey("attacker");
    // The captured request: the phone under a data key and IV the attacker cannot read, never seen by the server.
    const { blob, iv: iv0, fields } = encrypt(rsaPem, { Phone: ZHANG.Phone });
    const answers: string[] = [];
    /** whether the plaintext with its byte `pos` XORed by `delta` is answered as one that opens well formed */
    const opens = async (pos: number, delta: number): Promise<boolean> => {
      const code = await send(attacker, blob, withByte(iv0, pos, delta), fields);
      answers.push(code);
      return RESULT.test(code);
    };
    // Each digit d of '0'..'9' learnt up to its low bit: d^8 <= 9 iff d in {0,1,8,9}; and so on.
    const pairs: number[] = [];
    for (let pos = 3; pos < 11; pos++) {
      let pair: number;
      if (await opens(pos, 0x08)) pair = (await opens(pos, 0x04)) ? 0 : 8;
      else if (await opens(pos, 0x0c)) pair = 4;
      else if (await opens(pos, 0x0e)) pair = 6;
      else pair = 2;
      pairs.push(pair);
    }
    const learnt = pairs.map((p) => `{${p},${p + 1}}`).join("");
    const consistent = ZHANG.Phone.slice(3)
      .split("")
      .every((d, i) => (Number(d) & ~1) === pairs[i]);
    const results = answers.filter((a) => RESULT.test(a)).length;
    t.diagnostic(
      `${answers.length} probes, ${results} answered a Result, ${answers.length - results} refused: last 8 digits in ` +
        `138${learnt} (${2 ** pairs.length} candidates); truth among them: ${consistent}`,
    );
    // The first probe pins the phone's block to its IV: it alone is answered as what it opens to.
    assert.ok(results <= 1, `${results} probes answered a Result`);
    assert.equal(consistent, false, "the attacker narrowed the phone down");
  });

  it("a captured request already served: every probe after another IV answers DecryptSystemError and spends the budget", async (t) => {
    const attacker = await newKey("attacker-2");
    const captured = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.equal(await send(honest, captured.blob, captured.iv, captured.fields), "Result 0");
    // Flips that keep every digit a digit (d ^ 1): before, each went on to a Result.
    const answers: string[] = [];
    for (let i = 0; i < BUDGET; i++) {
      const pos = 3 + (i % 8);
      let iv = withByte(captured.iv, pos, 0x01);
      if (i >= 8) iv = withByte(iv, 3 + ((i + 1 + Math.floor(i / 8)) % 8), 0x01);
      answers.push(await send(attacker, captured.blob, iv, captured.fields));
    }
    t.diagnostic(`answers to ${BUDGET} probes: ${JSON.stringify([...new Set(answers)])}`);
    assert.deepEqual([...new Set(answers)], [DECRYPT_FAILURE]);
    // Each counted: the attacker's key has spent its budget, its next encrypted call is refused.
    const fresh = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.equal(await send(attacker, fresh.blob, fresh.iv, fresh.fields), "FailedOperation.RequestLimitExceeded");
    // The honest client's identical retry, on either instance, is served.
    for (let i = 0; i < servers.length; i++) {
      assert.equal(await send(honest, captured.blob, captured.iv, captured.fields), "Result 0", "the retry");
    }
  });

  it("a captured field cut to a block, or a block sent after one of the caller's, answers DecryptSystemError", async () => {
    const attacker = await newKey("attacker-3");
    const captured = encrypt(rsaPem, { IdCard: HEBEI_ID });
    assert.match(await send(honest, captured.blob, captured.iv, captured.fields), /^Result /);
    const id = captured.fields.IdCard ?? Buffer.alloc(0);
    const [c1, c2] = [id.subarray(0, 16), id.subarray(16, 32)];
    const pad = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(16 - text.length, 16 - text.length)]);
    // The first block alone, as the phone: its last 5 characters (guessed) turned into a padding of 5, the first 11
    // ("13010219900") a mobile number — well formed when the guess is right.
    const cut = xor(captured.iv, xor(pad(HEBEI_ID.slice(0, 11)), Buffer.from(HEBEI_ID.slice(0, 16))));
    assert.equal(await send(attacker, captured.blob, cut, { Phone: c1 }), DECRYPT_FAILURE, "the first block alone");
    // The second block alone, after an IV that turns its (guessed) last 2 characters and padding into a phone.
    const moved = xor(c1, xor(pad(HEBEI_ID.slice(16)), pad(ZHANG.Phone)));
    assert.equal(await send(attacker, captured.blob, moved, { Phone: c2 }), DECRYPT_FAILURE, "the second block alone");
    // A block of the caller's put in front: the captured block then follows another predecessor.
    const phone = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.equal(await send(honest, phone.blob, phone.iv, phone.fields), "Result 0");
    const joined = Buffer.concat([randomBytes(16), phone.fields.Phone ?? Buffer.alloc(0)]);
    assert.equal(await send(attacker, phone.blob, phone.iv, { Name: joined }), DECRYPT_FAILURE, "a block in front");
  });

  it("a pin holds one window: in the next, the block is pinned afresh", async () => {
    const key = await newKey("next-window");
    const captured = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.equal(await send(key, captured.blob, captured.iv, captured.fields), "Result 0");
    const later = NOW + WINDOW_MS;
    for (const s of servers) s.setNow(later);
    const other = withByte(captured.iv, 10, 0x01); // 13800001235
    assert.match(await send(key, captured.blob, other, captured.fields, later), RESULT);
    assert.equal(await send(key, captured.blob, captured.iv, captured.fields, later), DECRYPT_FAILURE);
    for (const s of servers) s.setNow(NOW);
  });
});

describe("the in-process pins are bounded per SecretId", () => {
  let server: TestServer;
  let rsaPem: string;
  before(async () => {
    // A budget out of the flood's way: it is made of failed openings.
    server = await startTestServer({ SANYAO_DECRYPT_FAILURE_LIMIT: "100000" }, "sqlite");
    server.setNow(NOW);
    rsaPem = (await server.installation.envelopeKeys()).rsaPublicPem;
  });
  after(() => server.close());

  const send = async (key: Key, c: Captured, iv = c.iv): Promise<string> => {
    const encrypted = Object.fromEntries(Object.entries(c.fields).map(([f, data]) => [f, data.toString("base64")]));
    const params = { ...ZHANG, ...encrypted, CiphertextBlob: c.blob, EncryptList: Object.keys(c.fields), Iv: iv.toString("base64") };
    const r = (await callTc3(server.port, key, params, { timestamp: Math.floor(NOW / 1000) })).json.Response;
    return r.Error?.Code ?? `Result ${String(r.Result)}`;
  };

  it(`a key's flood of blocks pushes out its own oldest pins (${BLOCK_PIN_BOUNDS.perOwner}), never another key's`, async (t) => {
    const honest = await server.addAccount("honest");
    const flooder = await server.addAccount("flooder");
    const served = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.match(await send(honest, served), RESULT);
    const own = encrypt(rsaPem, { Phone: ZHANG.Phone });
    assert.match(await send(flooder, own), RESULT);
    // Fields of random blocks, as long as a field a rule could admit: each block is a pin of the flooder's.
    let pins = 0;
    while (pins <= BLOCK_PIN_BOUNDS.perOwner) {
      const junk = encrypt(rsaPem, {});
      junk.fields = { Phone: randomBytes(784), Name: randomBytes(784), IdCard: randomBytes(784) };
      assert.equal(await send(flooder, junk), DECRYPT_FAILURE);
      pins += 3 * (784 / 16);
    }
    t.diagnostic(`${pins} blocks sent by the flooder`);
    assert.equal(await send(flooder, served, withByte(served.iv, 10, 0x01)), DECRYPT_FAILURE, "another key's pin holds");
    assert.match(await send(flooder, own, withByte(own.iv, 10, 0x01)), RESULT, "its own oldest pin is gone");
  });
});
