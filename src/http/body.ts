/**
 * Reading request bodies under two caps: the per-request size of api3-protocol.md §8, and one budget of bytes
 * buffered across every request in flight, so that many large or slow bodies cannot exhaust memory together.
 * A declared Content-Length is reserved whole before the first byte is read; a chunked body reserves as it comes.
 */
import type { IncomingMessage } from "node:http";
import { ApiError } from "../api3/errors";

export class BodyBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  reserve(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

const BUSY_DETAIL = "Too many request bytes are being received at once; retry shortly.";

/** One request's body: read at most once, its reservation released when the exchange is over. */
export class RequestBody {
  private reserved = 0;
  /** false while bytes of the body may still be unread: the connection must then be closed, not reused */
  complete: boolean;
  /** the Content-Length the client declared (0 when it sent none: chunked, or no body) */
  readonly declared: number;

  constructor(
    private readonly req: IncomingMessage,
    private readonly budget: BodyBudget,
  ) {
    this.declared = Number(req.headers["content-length"] ?? 0);
    this.complete = req.method !== "POST" || req.headers["content-length"] === "0";
  }

  /** Resolves with the whole body; throws RequestSizeLimitExceeded past `limit`, ServiceUnavailable past the budget. */
  read(limit: number): Promise<Buffer> {
    const { declared } = this;
    if (declared > limit) return Promise.reject(new ApiError("RequestSizeLimitExceeded"));
    if (!this.take(declared)) return Promise.reject(new ApiError("ServiceUnavailable", BUSY_DETAIL));
    return new Promise((resolve, reject) => {
      // With a declared length the chunks are copied into one buffer as they come: no second copy at the end.
      const whole = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = (err: ApiError) => {
        this.req.removeAllListeners("data");
        this.req.pause();
        reject(err);
      };
      this.req.on("data", (chunk: Buffer) => {
        const at = size;
        size += chunk.length;
        if (size > limit) return stop(new ApiError("RequestSizeLimitExceeded"));
        if (size > this.reserved && !this.take(size - this.reserved)) return stop(new ApiError("ServiceUnavailable", BUSY_DETAIL));
        if (whole && size <= whole.length) chunk.copy(whole, at);
        else chunks.push(chunk);
      });
      this.req.on("end", () => {
        this.complete = true;
        if (whole) resolve(size === whole.length ? whole : whole.subarray(0, size));
        else {
          const [only] = chunks;
          resolve(chunks.length === 1 && only ? only : Buffer.concat(chunks));
        }
      });
      this.req.on("error", reject);
    });
  }

  private take(bytes: number): boolean {
    if (!this.budget.reserve(bytes)) return false;
    this.reserved += bytes;
    return true;
  }

  release(): void {
    this.budget.release(this.reserved);
    this.reserved = 0;
  }
}
