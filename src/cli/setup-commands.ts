/** Making an installation without serving it (`init`, with a seed), and the configuration in effect (`config`). */
import type { Command } from "commander";
import { loadConfig, loadConfigWithSources } from "../app/config";
import { prepareDemo } from "../app/demo";
import { openInstallation } from "../app/installation";
import { adminTokenFor, adminTokenPath } from "../operations/admin-token";
import { applySeed } from "../seed/apply";
import { readSeed, seedRules } from "../seed/read";
import { databaseOption, dataOption, flagOverrides, jsonOption, seedOption, serverOptions } from "./options";
import { printJson, printTable } from "./output";
import { seedLines } from "./seed-lines";

const INIT_HELP = `
On a new data directory (or an empty PostgreSQL schema) init makes the installation: the secret and SQLite database
(embedded), or the tables (scale-out, where the secret comes from SANYAO_SECRET_FILE or SANYAO_SECRET), the demo
account, key and records unless --no-demo (embedded only), and the operator token of the operations API, printed
once. On an existing installation it changes nothing, says so and exits 0; --seed is applied either way.

A seed file (JSON) names accounts, keys, records, scenarios and the upstream; applying it again changes nothing,
and what it does not name is left alone. A bad seed is refused whole, every problem named by entry and field:
  seed.json: accounts[1].dailyCap: must be a whole number ≥ 0 and ≤ 1000000
See examples/seed.json and the README's "Seed files" section.`;

export function addSetupCommands(program: Command): void {
  program
    .command("init")
    .description("make an installation without serving it (and apply a seed); on an existing one, change nothing")
    .addOption(dataOption())
    .addOption(databaseOption())
    .option("--no-demo", "no demo account, key or records (env SANYAO_DEMO=false); never made later either")
    .addOption(seedOption())
    .addOption(jsonOption())
    .addHelpText("after", INIT_HELP)
    .action(async (opts: { json?: boolean; data: string }, command: Command) => {
      const config = loadConfig(flagOverrides(command));
      // The seed is read and checked first: a bad one is refused before anything is made.
      const seed = config.seed ? await readSeed(config.seed, seedRules(config)) : undefined;
      const inst = await openInstallation(config);
      try {
        const created = inst.fresh;
        const demo =
          created && inst.mode === "embedded" ? await prepareDemo(inst, config.accountDefaults, { make: config.demo }) : undefined;
        const admin = created ? adminTokenFor(config.adminToken, inst.dataDir, true) : undefined;
        const token =
          admin?.created && admin.token && inst.dataDir ? { token: admin.token, file: adminTokenPath(inst.dataDir) } : undefined;
        const seeded = seed && (await applySeed(inst, seed, { defaults: config.accountDefaults, rules: seedRules(config) }));
        const where = inst.mode === "embedded" ? { dataDir: config.dataDir } : { schema: config.databaseSchema };
        if (opts.json) {
          printJson({ created, mode: inst.mode, ...where, demo: demo ?? null, adminToken: token ?? null, seed: seeded ?? null });
          return;
        }
        const place = inst.mode === "embedded" ? `in ${config.dataDir}` : `in PostgreSQL (schema ${config.databaseSchema})`;
        const made =
          inst.mode === "scale-out"
            ? `Created a scale-out installation ${place}: its tables. Every instance needs the same SANYAO_SECRET_FILE (or SANYAO_SECRET).`
            : `Created an installation ${place}: its secret (mode 0600) and SQLite database, ${demo ? "with" : "without"} the demo account, key and records.`;
        const dataFlag = inst.mode === "embedded" && opts.data !== "./data" ? ` --data ${opts.data}` : "";
        const lines = [
          created ? made : `An installation exists already ${place}: ${seeded ? "only the seed was applied" : "nothing changed"}.`,
          ...(demo ? ["", "Demo key (account demo):", `  SecretId:  ${demo.secretId}`, `  SecretKey: ${demo.secretKey}`] : []),
          ...(token ? ["", `Operations API token (kept in ${token.file}, mode 0600; printed only now):`, `  ${token.token}`] : []),
          ...(seeded ? ["", ...seedLines(seeded)] : []),
          ...(created ? ["", `Serve it: npx sanyao serve${dataFlag}`] : []),
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      } finally {
        await inst.close();
      }
    });

  serverOptions(program.command("config"))
    .description("the configuration serve would use with these flags: each setting, its value and where it came from")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nEach setting is listed by its environment variable (and flag), with its source: flag, environment or default.\n" +
        "Secrets (SANYAO_SECRET, SANYAO_ADMIN_TOKEN) show only set or unset; a password in a URL shows as ****.\n" +
        '--json prints {"mode": "embedded"|"scale-out", "settings": [{"name", "flag"?, "value", "source"}, …]}.',
    )
    .action((opts: { json?: boolean }, command: Command) => {
      const { config, settings } = loadConfigWithSources(flagOverrides(command));
      const mode = config.databaseUrl ? "scale-out" : "embedded";
      if (opts.json) return printJson({ mode, settings });
      process.stdout.write(`mode: ${mode}\n`);
      printTable(
        settings.map((s) => ({
          setting: s.flag ? `${s.name} (${s.flag})` : s.name,
          source: s.source,
          value: s.value === null ? "(none)" : String(s.value),
        })),
        // the value last: a long one (SANYAO_PRICES) does not widen the other columns
        ["setting", "source", "value"],
      );
    });
}
