/**
 * The import's HMAC-SHA256 (common/keyed-hasher.ts) against known answers: RFC 4231's test cases 2 (a short key)
 * and 6 (a key longer than the block), and createHmac on inputs of every path (multi-byte text, surrogate pairs and a
 * lone surrogate, two texts of one length, the longest that fits the buffer and the first that does not, part of a
 * digest written into a larger buffer); a write that does not fit is refused.
 */
import assert from "node:assert/strict";
import { createHmac, hkdfSync } from "node:crypto";
import { it } from "node:test";
import { KeyedHasher } from "../src/common/keyed-hasher";
import { Keyring } from "../src/common/keyring";

it("matches RFC 4231 test cases 2 and 6", () => {
  const short = new KeyedHasher(Buffer.from("Jefe"));
  assert.equal(
    short.hmac("what do ya want for nothing?").toString("hex"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  const long = new KeyedHasher(Buffer.alloc(131, 0xaa));
  assert.equal(
    long.hmac("Test Using Larger Than Block-Size Key - Hash Key First").toString("hex"),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
});

it("writes what createHmac gives, whole or in part, at any offset, for any input length", () => {
  const key = Buffer.from("0123456789abcdef0123456789abcdef");
  const hasher = new KeyedHasher(key);
  const inputs = [
    "phone\u000013800138000",
    "phone\u000013900139000",
    "name\u0000王小明",
    "name\u0000李四",
    "a\ud800b",
    "😀".repeat(170),
    "x".repeat(341),
    "x".repeat(342),
    "汉".repeat(341),
    "汉".repeat(400),
    "",
  ];
  for (const text of inputs) {
    const expected = createHmac("sha256", key).update(text).digest();
    assert.deepEqual(hasher.hmac(text), expected);
    const target = Buffer.alloc(64, 0xee);
    hasher.hmacInto(text, target, 5, 16);
    assert.deepEqual(target.subarray(5, 21), expected.subarray(0, 16));
    assert.ok(target.subarray(0, 5).every((b) => b === 0xee) && target.subarray(21).every((b) => b === 0xee));
  }
});

it("refuses a write that does not fit, writing nothing", () => {
  const hasher = new KeyedHasher(Buffer.from("key"));
  const target = Buffer.alloc(40, 0xee);
  assert.throws(() => hasher.hmacInto("x", target, 0, 33), RangeError);
  assert.throws(() => hasher.hmacInto("x", target, 30, 16), RangeError);
  assert.throws(() => hasher.hmacInto("x".repeat(400), target, -1, 16), RangeError);
  assert.ok(target.every((b) => b === 0xee));
});

it("Keyring.hash, what records at rest are keyed by, is still createHmac under the installation's derived key", () => {
  const secret = Buffer.alloc(32, 1);
  const key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "sanyao/records-hash/v1", 32));
  const keyring = new Keyring(secret);
  for (const [field, value] of [
    ["phone", "13800138000"],
    ["name", "王小明"],
    ["idcard", "11010519491231002X"],
  ] as const) {
    assert.deepEqual(keyring.hash(field, value), createHmac("sha256", key).update(`${field}\u0000${value}`).digest());
  }
});
