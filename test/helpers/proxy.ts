/**
 * A TCP proxy in front of a real PostgreSQL, Redis or sanyao, so a test can take the engine away (refuse new
 * connections, cut the open ones, hold bytes, drop answers) and give it back, without stopping the real one.
 */
import net from "node:net";

/**
 * What the proxy does with the next PostgreSQL COMMIT it sees: the simple-query message `pg` sends for
 * `query("COMMIT")` ('Q', length 11, "COMMIT\0").
 * - "hold-reply": forwards it, then holds the server's reply on that connection until release();
 * - "drop-after": forwards it, then cuts the client off at once (the server still reads the COMMIT and applies it);
 * - "drop-before": cuts the connection instead of forwarding it, so the transaction is never committed;
 * - "cut-after", "cut-before": as the two above, but only the client is cut off: the server's session stays open (idle,
 *   or idle inside its transaction), as a network that fails between them leaves it until the server notices.
 */
export type CommitTrap = "hold-reply" | "drop-after" | "drop-before" | "cut-after" | "cut-before";
const COMMIT_MESSAGE = Buffer.from([0x51, 0, 0, 0, 11, ...Buffer.from("COMMIT\0")]);

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  /** Listens (on the port it had, once started before); a proxy already listening stays as it is. */
  async start(): Promise<number> {
    if (this.server) return this.port;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      /** the server's bytes to this client are held (a trapped COMMIT's reply) */
      let replyHeld = false;
      /** the client was cut off while the server still reads what it was sent */
      let detached = false;
      /** this connection's open transaction sent the trap's `within` text (a ledger INSERT, say) */
      let sawWithin = false;
      // Data is forwarded chunk by chunk so that a blackhole can hold it back.
      const forward = (from: net.Socket, to: net.Socket, held: () => boolean) =>
        from.on("data", (chunk: Buffer) => {
          const trap = from === client ? this.commitTrap : undefined;
          if (trap?.within && chunk.includes(trap.within)) sawWithin = true;
          const isCommit = from === client && chunk.includes(COMMIT_MESSAGE);
          const springs = isCommit && trap !== undefined && (trap.within === undefined || sawWithin);
          if (isCommit) sawWithin = false;
          if (springs && trap) {
            const { kind, sprung } = trap;
            this.commitTrap = undefined;
            if (kind === "drop-before") {
              client.destroy();
              upstream.destroy();
            } else if (kind === "drop-after") {
              detached = true;
              upstream.end(chunk);
              client.destroy();
            } else if (kind === "cut-after" || kind === "cut-before") {
              detached = true;
              if (kind === "cut-after") upstream.write(chunk);
              client.destroy();
            } else {
              replyHeld = true;
              this.replyHolds.add(() => {
                replyHeld = false;
              });
              to.write(chunk);
            }
            sprung();
            return;
          }
          if (!this.holding && !held() && !(from === upstream && this.holdingAnswers)) return void to.write(chunk);
          from.pause();
          this.held.push(() => {
            to.write(chunk);
            from.resume();
          });
        });
      forward(client, upstream, () => false);
      upstream.on("data", () => {
        if (this.answersToDrop === 0) return;
        // The server has answered: cut the client off before it sees a byte of it.
        this.answersToDrop--;
        client.destroy();
        upstream.destroy();
      });
      forward(upstream, client, () => replyHeld);
      client.on("close", () => detached || upstream.destroy());
      // A target that closes after an answer that is held: the client sees the answer first, then the close.
      upstream.on("close", () => {
        if (this.holding || this.holdingAnswers || replyHeld) this.held.push(() => client.end());
        else client.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this.port;
  }

  private answersToDrop = 0;

  /** The next `count` answers from the target are not forwarded: their connections are cut as they arrive. */
  dropAnswers(count: number): void {
    this.answersToDrop = count;
  }

  private commitTrap: { kind: CommitTrap; sprung: () => void; within: Buffer | undefined } | undefined;

  /**
   * Sets a trap for the next COMMIT on any connection — or, given `within`, the next COMMIT of a transaction that
   * sent that text (other transactions of the server, background writes among them, pass untouched); resolves once
   * it has sprung.
   */
  trapCommit(kind: CommitTrap, within?: string): Promise<void> {
    return new Promise((sprung) => {
      this.commitTrap = { kind, sprung, within: within === undefined ? undefined : Buffer.from(within) };
    });
  }

  /** Keeps every connection open but forwards nothing: the engine hangs instead of refusing. */
  blackhole(): void {
    this.holding = true;
  }

  /** how many chunks are held back now (a request that reached the proxy while it holds) */
  get waiting(): number {
    return this.held.length;
  }

  /** Forwards requests but holds the target's answers: calls stay in flight, answered by the target already. */
  holdAnswers(): void {
    this.holdingAnswers = true;
  }

  /** Forwards what was held: a blackhole's bytes, held answers and a trapped COMMIT's reply. */
  release(): void {
    this.holding = false;
    this.holdingAnswers = false;
    for (const stopHolding of this.replyHolds) stopHolding();
    this.replyHolds.clear();
    for (const release of this.held.splice(0)) release();
  }

  private holding = false;
  private holdingAnswers = false;
  private readonly replyHolds = new Set<() => void>();
  private readonly held: Array<() => void> = [];

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
