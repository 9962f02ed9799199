/**
 * Which relations a bounded PostgreSQL read-ahead takes (store/postgres/records-warm.ts): from the last back (the
 * records' indexes, which a lookup descends), the first that no longer fits whole read from its start as far as the
 * bound goes, those before it left.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { withinBound } from "../src/store/postgres/records-warm";

// as relations() lists them: the digests, their index, the records, their indexes
const ALL = [
  { oid: "1", blocks: 100 },
  { oid: "2", blocks: 40 },
  { oid: "3", blocks: 60 },
  { oid: "4", blocks: 20 },
  { oid: "5", blocks: 30 },
];

it("takes the last relations whole, the next in part, and none before", () => {
  assert.deepEqual(withinBound(ALL, 70), [
    { oid: "3", blocks: 20 },
    { oid: "4", blocks: 20 },
    { oid: "5", blocks: 30 },
  ]);
});

it("takes all of them when they fit, and none when nothing may be read", () => {
  assert.deepEqual(withinBound(ALL, 250), ALL);
  assert.deepEqual(withinBound(ALL, Number.POSITIVE_INFINITY), ALL);
  assert.deepEqual(withinBound(ALL, 0), []);
});

it("a bound that ends where a relation does reads nothing of the one before", () => {
  assert.deepEqual(withinBound(ALL, 50), [
    { oid: "4", blocks: 20 },
    { oid: "5", blocks: 30 },
  ]);
});
