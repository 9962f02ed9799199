/**
 * The request path reads the same key and account rows for every call. They are kept for `ttlMs`, so a change
 * made by the CLI or another instance is seen within that time (the promise is one second; the default is a
 * quarter of it). Charges made here are applied to the cached balance at once, so this process refuses the
 * call after the one that crossed zero without waiting for the cache to expire — a test key's charge excepted: it
 * is in the test ledger only, and the balance is the account's real money (the stores skip its debit too).
 */
import type { Account, ChargeEntry, KeySecret } from "./model";
import type { Accounts, ApiKeys, Ledger } from "./storage";

export const FRESHNESS_MS = 250;

interface Entry<T> {
  value: T;
  until: number;
}

export class FreshCache {
  private readonly keys = new Map<string, Entry<KeySecret | undefined>>();
  private readonly accounts = new Map<string, Entry<Account | undefined>>();

  constructor(
    private readonly store: { apiKeys: Pick<ApiKeys, "resolve">; accounts: Pick<Accounts, "get">; ledger: Pick<Ledger, "charge"> },
    private readonly ttlMs = FRESHNESS_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private async read<T>(map: Map<string, Entry<T>>, id: string, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = map.get(id);
    if (hit && hit.until > t) return hit.value;
    const value = await load();
    if (map.size >= 10_000) map.clear();
    map.set(id, { value, until: t + this.ttlMs });
    return value;
  }

  resolveKey(secretId: string): Promise<KeySecret | undefined> {
    return this.read(this.keys, secretId, () => this.store.apiKeys.resolve(secretId));
  }

  getAccount(accountId: string): Promise<Account | undefined> {
    return this.read(this.accounts, accountId, () => this.store.accounts.get(accountId));
  }

  async charge(entry: ChargeEntry): Promise<void> {
    await this.store.ledger.charge(entry);
    if (entry.test) return;
    const cached = this.accounts.get(entry.accountId)?.value;
    if (cached) cached.balance -= entry.unitPrice;
  }
}
