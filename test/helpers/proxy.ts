/**
 * A TCP proxy in front of a real PostgreSQL, Redis or sanyao, so a test can take the engine away (refuse new
 * connections, cut the open ones, hold bytes, drop answers) and give it back, without stopping the real one.
 */
import net from "node:net";

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      // Data is forwarded chunk by chunk so that a blackhole can hold it back.
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on("data", (chunk) => {
          if (!this.holding) return void to.write(chunk);
          from.pause();
          this.held.push(() => {
            to.write(chunk);
            from.resume();
          });
        });
      forward(client, upstream);
      upstream.on("data", () => {
        if (this.answersToDrop === 0) return;
        // The server has answered: cut the client off before it sees a byte of it.
        this.answersToDrop--;
        client.destroy();
        upstream.destroy();
      });
      forward(upstream, client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
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

  /** Keeps every connection open but forwards nothing: the engine hangs instead of refusing. */
  blackhole(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const release of this.held.splice(0)) release();
  }

  private holding = false;
  private readonly held: Array<() => void> = [];

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
