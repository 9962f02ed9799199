/**
 * HMAC-SHA256 for many short inputs (a records import's, the request path's keyed hashes), equal to
 * `createHmac("sha256", key)` byte for byte: the key's inner and outer blocks are padded once, and each hash is two
 * one-shot SHA-256 calls over reused buffers (createHmac pads the key again and makes three objects per call). The
 * digests come back as "binary" (latin1) text and are written where they go: a one-shot hash that returns a Buffer
 * costs about three times one that returns a string (Node 20). Inputs too long for the buffer take createHmac.
 */
import { createHash, createHmac, hash } from "node:crypto";

const BLOCK = 64;
const MAX_INPUT = 1024;
const DIGEST_BYTES = 32;

export class KeyedHasher {
  /** the key XOR ipad, then room for one input */
  private readonly inner = Buffer.alloc(BLOCK + MAX_INPUT);
  /** the key XOR opad, then the inner digest */
  private readonly outer = Buffer.alloc(BLOCK + DIGEST_BYTES);
  /** views of `inner` holding the padded key and an input of each length: made once, not once a call */
  private readonly innerViews: Buffer[] = [];

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
    // every byte is written below, so not cleared first; a buffer of its own, not a slice of Node's shared pool
    // (which holds other recent allocations, request bodies among them, alive as long as the digest is kept)
    const digest = Buffer.allocUnsafeSlow(DIGEST_BYTES);
    this.hmacInto(text, digest, 0, DIGEST_BYTES);
    return digest;
  }

  /** Writes the first `bytes` bytes of the HMAC-SHA256 of the UTF-8 text into `target` at `offset`. */
  hmacInto(text: string, target: Buffer, offset: number, bytes: number): void {
    if (!(bytes >= 0 && bytes <= DIGEST_BYTES && offset >= 0 && offset + bytes <= target.length)) {
      throw new RangeError(`no room for ${bytes} bytes of an HMAC at ${offset} of ${target.length}`);
    }
    // UTF-8 takes at most three bytes per UTF-16 unit: a text that may not fit goes the long way
    if (text.length * 3 > MAX_INPUT) {
      createHmac("sha256", this.key).update(text).digest().copy(target, offset, 0, bytes);
      return;
    }
    const length = this.inner.write(text, BLOCK, "utf8");
    let view = this.innerViews[length];
    if (view === undefined) {
      view = this.inner.subarray(0, BLOCK + length);
      this.innerViews[length] = view;
    }
    this.outer.write(hash("sha256", view, "binary"), BLOCK, "latin1");
    // the input (a phone number, a name) is not left in a buffer that lives as long as the hasher
    this.inner.fill(0, BLOCK, BLOCK + length);
    target.write(hash("sha256", this.outer, "binary"), offset, bytes, "latin1");
  }
}
