/**
 * The server's listeners, bound before anything else is made: `sanyao serve` holds its ports first, so a port in use
 * stops it before it creates an installation (whose operator token would then never be shown). Requests that arrive
 * while the rest starts wait for the handler; a port that cannot be had is one ListenError naming the setting to change.
 */
import http from "node:http";
import type { Config } from "./config";

export class ListenError extends Error {}

export interface Listeners {
  /** the public listener (the API, probes; the operations API too unless it has its own) */
  public: http.Server;
  /** the operations listener (SANYAO_OPS_PORT), when set */
  ops: http.Server | undefined;
  /** starts answering: requests that came in meanwhile are handed over now */
  serve(publicHandler: http.RequestListener, opsHandler: http.RequestListener | undefined): void;
  /** closes listeners that never served, and whatever requests wait on them */
  abandon(): void;
}

/** One listener whose requests wait until a handler is given. */
function waitingServer(options: http.ServerOptions) {
  let handler: http.RequestListener | undefined;
  const waiting: Array<[http.IncomingMessage, http.ServerResponse]> = [];
  const server = http.createServer(options, (req, res) => {
    if (handler) handler(req, res);
    else waiting.push([req, res]);
  });
  return {
    server,
    serve(h: http.RequestListener) {
      handler = h;
      for (const [req, res] of waiting.splice(0)) h(req, res);
    },
    abandon() {
      for (const [, res] of waiting.splice(0)) res.destroy();
      server.close();
      server.closeAllConnections();
    },
  };
}

/** Binds the public listener and, when set, the operations listener; either both are held or neither. */
export async function holdListeners(config: Config): Promise<Listeners> {
  const { transport } = config;
  const pub = waitingServer({
    // Headers up to 64 KiB reach us, so a GET over the 32 KiB API limit gets an envelope, not a bare 431.
    maxHeaderSize: 64 * 1024,
    headersTimeout: transport.headersTimeoutMs,
    requestTimeout: transport.requestTimeoutMs,
    keepAliveTimeout: transport.keepAliveTimeoutMs,
    // node:http enforces the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1000, transport.headersTimeoutMs),
  });
  pub.server.maxConnections = transport.maxConnections;
  // The operations API and /metrics on a listener of their own, when one is set: production keeps them off the public one.
  const ops = config.ops ? waitingServer({ headersTimeout: transport.headersTimeoutMs }) : undefined;
  await listen(pub.server, config.port, config.host, PUBLIC);
  if (ops && config.ops) {
    try {
      await listen(ops.server, config.ops.port, config.ops.host, OPERATIONS);
    } catch (err) {
      pub.abandon();
      throw err;
    }
  }
  return {
    public: pub.server,
    ops: ops?.server,
    serve(publicHandler, opsHandler) {
      pub.serve(publicHandler);
      if (ops && opsHandler) ops.serve(opsHandler);
    },
    abandon() {
      pub.abandon();
      ops?.abandon();
    },
  };
}

/**
 * Binds the ports and lets them go again at once: `serve --workers` checks that its ports are free before it makes
 * anything, since its workers bind them only later.
 */
export async function checkPortsFree(config: Config): Promise<void> {
  (await holdListeners(config)).abandon();
}

/** What a listener is set by, for the message when it cannot listen. */
interface ListenerName {
  what: string;
  port: string;
  host: string;
}
const PUBLIC: ListenerName = { what: "Port", port: "--port or SANYAO_PORT", host: "--host or SANYAO_HOST" };
const OPERATIONS: ListenerName = {
  what: "The operations port",
  port: "--ops-port or SANYAO_OPS_PORT",
  host: "--ops-host or SANYAO_OPS_HOST",
};

function listen(server: http.Server, port: number, host: string, name: ListenerName): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, port, host, name));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve();
    });
  });
}

function listenError(err: NodeJS.ErrnoException, port: number, host: string, name: ListenerName): Error {
  switch (err.code) {
    case "EADDRINUSE":
      return new ListenError(
        `${name.what} ${port} on ${host} is in use by another program (EADDRINUSE). Choose another with ${name.port} ` +
          "(0 takes any free port), or stop what listens there.",
      );
    case "EACCES":
      return new ListenError(
        `${name.what} ${port} on ${host} may not be opened by this user (EACCES; ports below 1024 need privileges). ` +
          `Choose another with ${name.port}.`,
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ListenError(`${host} is not an address of this machine (${err.code}). Check ${name.host}.`);
    default:
      return err;
  }
}
