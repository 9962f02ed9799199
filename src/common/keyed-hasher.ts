/**
 * HMAC-SHA256 for the many short inputs of a records import, equal to `createHmac("sha256", key)` byte for byte:
 * the key's inner and outer blocks are padded once, and each hash is two one-shot SHA-256 calls over a reused
 * buffer (createHmac pads the key again and makes three objects per call). Inputs too long for the buffer take
 * createHmac.
 */
import { createHash, createHmac, hash } from "node:crypto";

const BLOCK = 64;
const MAX_INPUT = 1024;

export class KeyedHasher {
  /** the key XOR ipad, then room for one input */
  private readonly inner = Buffer.alloc(BLOCK + MAX_INPUT);
  /** the key XOR opad, then the inner digest */
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(private readonly key: Buffer) {
    const block = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash("sha256").update(key).digest() : key).copy(block);
    for (let i = 0; i < BLOCK; i++) {
      this.inner[i] = (block[i] ?? 0) ^ 0x36;
      this.outer[i] = (block[i] ?? 0) ^ 0x5c;
    }
  }

  /** HMAC-SHA256 of the UTF-8 text */
  hmac(text: string): Buffer {
    // UTF-8 takes at most three bytes per UTF-16 unit: a text that may not fit goes the long way
    if (text.length * 3 > MAX_INPUT) return createHmac("sha256", this.key).update(text).digest();
    const length = this.inner.write(text, BLOCK, "utf8");
    hash("sha256", this.inner.subarray(0, BLOCK + length), "buffer").copy(this.outer, BLOCK);
    return hash("sha256", this.outer, "buffer");
  }
}
