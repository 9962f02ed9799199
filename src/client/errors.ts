/** What a call can fail with: the service's own error envelope, or no usable answer at all. */

/** The answer carried `Response.Error`: branch on `code` (the message is free text). */
export class TencentCloudError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly requestId: string,
    /** the X-TC-TraceId echoed by the server, when it echoes one */
    readonly traceId: string,
  ) {
    super(message);
    this.name = "TencentCloudError";
  }
}

/** No envelope came back: the connection failed, timed out, or the answer was not an API 3.0 envelope. */
export class ClientNetworkError extends Error {
  constructor(
    message: string,
    /** the HTTP status when there was one (the API answers every outcome with 200) */
    readonly httpStatus?: number,
    options?: { cause?: unknown },
    /**
     * false only when the request provably never reached the server (the connection was refused, the name did
     * not resolve); otherwise it may have been served — and a charged action charged — without its answer arriving.
     */
    readonly maybeServed = true,
  ) {
    super(message, options);
    this.name = "ClientNetworkError";
  }
}
