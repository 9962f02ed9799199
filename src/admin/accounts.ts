/**
 * Administering accounts, the same from the CLI and the operations API: how an account, a top-up and a key are
 * shown (money in CNY as a decimal string, never fen), and the checks a name, a change or a top-up must pass.
 */
import { InputError } from "../common/input-error";
import { formatAmount } from "../common/money";
import type { Account, AccountPatch, NewAccountDefaults, TopUp } from "../store/model";
import type { Storage } from "../store/storage";

/** The bounds of what an operator sets: names, notes, limits. */
export const ACCOUNT_BOUNDS = {
  nameLength: 200,
  noteLength: 500,
  /** requests per second, attempts per day */
  limit: 1_000_000,
  /** fen: a top-up, a budget */
  amount: 10_000_000_000_000,
} as const;

export type ShownAccount = Omit<Account, "balance" | "monthlyBudget"> & { balance: string; monthlyBudget: string };

/** An account as every command and route shows it: the balance and budget in CNY ("1000.00"). */
export function shownAccount(account: Account): ShownAccount {
  return { ...account, balance: formatAmount(account.balance), monthlyBudget: formatAmount(account.monthlyBudget) };
}

export function shownTopUp(t: TopUp) {
  return { id: t.id, accountId: t.accountId, at: new Date(t.at).toISOString(), amount: formatAmount(t.amount), note: t.note };
}

export async function createAccount(store: Storage, name: string, defaults: NewAccountDefaults): Promise<Account> {
  const trimmed = name.trim();
  if (trimmed === "") throw new InputError("The name must not be empty.");
  if ([...trimmed].length > ACCOUNT_BOUNDS.nameLength)
    throw new InputError(`The name has at most ${ACCOUNT_BOUNDS.nameLength} characters.`);
  return store.accounts.create(trimmed, defaults);
}

/** Applies the change; the account as it now stands, or undefined when there is no such account. */
export async function changeAccount(store: Storage, accountId: string, patch: AccountPatch): Promise<Account | undefined> {
  if (Object.values(patch).every((v) => v === undefined)) throw new InputError("Nothing to change: give at least one field.");
  return (await store.accounts.update(accountId, patch)) ? store.accounts.get(accountId) : undefined;
}

/** Adds `amount` fen with the operator's note; the new balance and the top-up, or undefined when there is no such account. */
export async function topUpAccount(store: Storage, accountId: string, amount: number, note = "") {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new InputError("The amount must be positive, with at most two decimals.");
  if (amount > ACCOUNT_BOUNDS.amount) throw new InputError(`The amount is at most ${formatAmount(ACCOUNT_BOUNDS.amount)}.`);
  if ([...note].length > ACCOUNT_BOUNDS.noteLength) throw new InputError(`The note has at most ${ACCOUNT_BOUNDS.noteLength} characters.`);
  return store.accounts.credit(accountId, amount, note.trim());
}
