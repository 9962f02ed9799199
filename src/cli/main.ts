/** The `sanyao` command. Every subcommand takes --data DIR (env SANYAO_DATA_DIR, default ./data) or --database-url. */
import { Command } from "commander";
import { ConfigError } from "../app/config";
import { InputError } from "../common/input-error";
import { StoreInputError } from "../store/storage";
import { addAdminCommands } from "./admin-commands";
import { addCallCommands } from "./call-commands";
import { addDataCommands } from "./data-commands";
import { flagOverrides, serverOptions } from "./options";
import { UsageError } from "./output";
import { serve, serveEphemeral } from "./serve";
import { addTestKitCommands } from "./testkit-commands";
import { addGatewayCommands } from "./gateway-commands";
import { addSetupCommands } from "./setup-commands";
import { SeedError } from "../seed/checks";

/** The version in package.json, read as untrusted JSON. */
function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg: unknown = require("../../../package.json");
  return typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "unknown";
}

export function buildProgram(): Command {
  const program = new Command("sanyao")
    .description("Self-hosted Tencent Cloud FaceID PhoneVerification (phone + name + identity number) over the API 3.0 protocol.")
    .version(packageVersion())
    // Usage errors exit with 2, like most Unix tools; help and version exit with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  serverOptions(program.command("serve"))
    .description("serve the API; on first start create the data directory, a demo account, key and records (unless --no-demo)")
    .option(
      "--ephemeral",
      "serve a throw-away installation from a temporary data directory, removed on exit; a free port unless --port " +
        "is given; print the endpoint and demo key as one JSON line on stdout once it serves",
    )
    .addHelpText(
      "after",
      "\nOther settings come from the environment: SANYAO_LANGUAGE (en-US|zh-CN), SANYAO_SOURCE_TIMEOUT_MS,\n" +
        "SANYAO_LOG_LEVEL, SANYAO_DATA_CARDS and SANYAO_BROADNET (valid|unsupported), SANYAO_FOREIGN_PR (true|false).\n" +
        "`sanyao config` (same flags) prints every setting with its value and where it came from.\n" +
        "\nThe ports are taken before anything is made: a port in use stops serve at once (exit 1), naming --port or\n" +
        "--ops-port. --seed (SANYAO_SEED) is checked before that and applied at every start, before serving; a bad\n" +
        "seed stops serve with every problem named (exit 2). `sanyao init` makes an installation without serving.\n\n" +
        "SANYAO_JOURNAL_DIR (default: journal/ under --data, in scale-out too): where a paid answer the store cannot\n" +
        "  take yet is kept (the file paid-answers.db, made at the first one) and written into the store at start and\n" +
        "  every 5 s, and where a gateway notes each call while it is with the upstream (one left by a killed process\n" +
        "  is listed by usage --unknown); give each instance a persistent local directory.\n" +
        "\n--ephemeral is for test suites in any language: start it as a child process and read its first stdout line,\n" +
        '  {"sanyao":"ready","endpoint":"http://127.0.0.1:PORT","secretId":"AKID…","secretKey":"…","accountId":"…","adminToken":"sy_…","dataDir":"…","pid":1234}\n' +
        '(with --seed, also "seed": what it applied, generated keys with their SecretKey; the request log lines\n' +
        "follow). SIGTERM or SIGINT to that pid (npx may stand between) stops it and removes\n" +
        "its data directory.",
    )
    .action(
      async (
        opts: {
          data: string;
          databaseUrl?: string;
          port: number;
          host: string;
          opsPort?: number;
          opsHost?: string;
          workers: number;
          demo: boolean;
          ephemeral?: boolean;
          seed?: string;
        },
        command: Command,
      ) => {
        if (opts.ephemeral) {
          if (opts.databaseUrl) throw new UsageError("--ephemeral serves an embedded installation: drop --database-url.");
          if (opts.workers !== 1) throw new UsageError("--ephemeral serves from one process: drop --workers.");
          if (!opts.demo) throw new UsageError("--ephemeral serves the demo account and prints its key: drop --no-demo.");
          const port = command.getOptionValueSource("port") === "default" ? 0 : opts.port;
          await serveEphemeral({ port, host: opts.host, opsPort: opts.opsPort, opsHost: opts.opsHost, seed: flagOverrides(command).seed });
          return;
        }
        const dataFlag = opts.databaseUrl ? "" : opts.data === "./data" ? "" : ` --data ${opts.data}`;
        await serve(flagOverrides(command), dataFlag);
      },
    );

  addSetupCommands(program);
  addAdminCommands(program);
  addDataCommands(program);
  addCallCommands(program);
  addTestKitCommands(program);
  addGatewayCommands(program);
  oneUsageLineAfterErrors(program);
  return program;
}

/** A usage error prints the error and the command's one usage line, not its whole help. */
function oneUsageLineAfterErrors(command: Command, path = ""): void {
  const name = `${path}${command.name()}`;
  command.showHelpAfterError(`Usage: ${name} ${command.usage()}\n(${name} --help for more)`);
  for (const sub of command.commands) oneUsageLineAfterErrors(sub, `${name} `);
}

export async function main(argv: string[]): Promise<void> {
  // `sanyao … | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof StoreInputError ||
      err instanceof InputError ||
      err instanceof SeedError
    ) {
      process.stderr.write(`sanyao: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`sanyao: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
