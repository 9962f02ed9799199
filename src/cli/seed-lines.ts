/** What `init` and `serve` print of an applied seed; a generated key's SecretKey is printed here once, never again. */
import type { SeedReport } from "../seed/apply";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function seedLines(r: SeedReport): string[] {
  const made = (list: ReadonlyArray<{ created: boolean }>) => list.filter((x) => x.created).length;
  const parts = [
    `${plural(r.accounts.length, "account")} (${made(r.accounts)} created)`,
    `${plural(r.keys.length, "key")} (${made(r.keys)} created)`,
    `${plural(r.records.imported, "record")} imported (${r.records.replaced} replaced)`,
    `${plural(r.scenarios.added + r.scenarios.present, "scenario")} (${r.scenarios.added} added)`,
    ...(r.upstream ? [`upstream ${r.upstream.url} as ${r.upstream.secretId} (${r.upstream.changed ? "set" : "unchanged"})`] : []),
  ];
  const lines = [`Seed ${r.file} applied in ${r.ms} ms (checked in ${r.checkMs} ms): ${parts.join(", ")}.`];
  for (const a of r.accounts) {
    if (a.balanceLeft !== undefined) {
      lines.push(
        `  Account ${a.name} (${a.accountId}) existed: its balance stays ${a.balanceLeft} ` +
          "(a seed's balance is a new account's; `sanyao accounts top-up` adds to one).",
      );
    }
  }
  for (const k of r.keys) {
    if (k.secretKey === undefined) continue;
    lines.push(
      "",
      `Key ${k.name ?? k.secretId} (account ${k.account}${k.test ? ", test key" : ""}), generated now and printed only now:`,
      `  SecretId:  ${k.secretId}`,
      `  SecretKey: ${k.secretKey}`,
    );
  }
  return lines;
}
