/**
 * The pins of an AES-256-CBC call's blocks. In CBC each plaintext block is the decryption of its ciphertext block
 * XOR the block before it (the IV for the first), and the caller chooses both: keep a captured block, change what
 * comes before it, and each answer tells whether the flipped value is still well formed — a probe at the captured
 * value. So each ciphertext block, under its data key, opens under one predecessor only while its pin holds
 * (decrypt-budget.ts); another predecessor is answered as a failure. Honest calls never meet it: a fresh IV or data
 * key changes every block, and a retry sends the same blocks after the same predecessors.
 * Pinning every block, not the field, also closes the probes that cut or extend a captured field: a later block
 * sent alone (its predecessor then an IV of the caller's), a block put in front of it. What is left tells nothing:
 * a changed block opens to 16 bytes no one can predict, which a name's rule (the loosest) admits with odds of about
 * 1 in 10^10, and the block after it meets its pin (an identity number's first block changed: its first 16
 * characters garbled, its last 2 pinned); a field moved whole to another field's place opens as it was, to a value
 * no other field's rule admits.
 */
import type { Keyring } from "../common/keyring";
import type { BlockPin } from "../limits/contract";

const BLOCK = 16;

/**
 * Each block of `data` under `dataKey` with the block before it; none when `data` is no whole number of blocks.
 * One keyed hash a block: its first half names the block, its second half masks the predecessor (equal
 * predecessors of one block stay equal, and none can be read back).
 */
export function cbcBlockPins(keyring: Keyring, dataKey: Buffer, iv: Buffer, data: Buffer): BlockPin[] {
  if (data.length === 0 || data.length % BLOCK !== 0) return []; // it cannot open: nothing to learn from it
  const pins: BlockPin[] = [];
  for (let at = 0; at < data.length; at += BLOCK) {
    const before = at === 0 ? iv : data.subarray(at - BLOCK, at);
    const digest = keyring.hashBytes("cbc-block", [dataKey, data.subarray(at, at + BLOCK)]);
    const masked = Buffer.from(before.map((b, i) => b ^ (digest[BLOCK + i] ?? 0)));
    pins.push({ block: digest.subarray(0, BLOCK).toString("base64url"), predecessor: masked.toString("base64url") });
  }
  return pins;
}

/** One call's pins, each block once; undefined when the call itself gives one block two predecessors. */
export function mergePins(lists: readonly BlockPin[][]): BlockPin[] | undefined {
  const merged = new Map<string, string>();
  for (const { block, predecessor } of lists.flat()) {
    const held = merged.get(block);
    if (held !== undefined && held !== predecessor) return undefined;
    merged.set(block, predecessor);
  }
  return [...merged].map(([block, predecessor]) => ({ block, predecessor }));
}
