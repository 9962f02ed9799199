/**
 * What the gateway keeps for each team before the upstream is called: its spend cap per China-time calendar month
 * (money set aside per call, given back when the answer is not charged), and its own daily cap per number and
 * identity number, so one team cannot use up the upstream account's caps for all. A budget's counter is seeded from
 * what the month spent: the ledger, and the charges this instance's journal of paid answers still holds for it
 * (another instance's journal is not seen from here).
 */
import { ApiError } from "../api3/errors";
import type { Keyring } from "../common/keyring";
import type { DailyCounter, Reservation, SpendCounter } from "../limits/contract";
import { chinaDate } from "../rules/precheck";
import type { Account, ChargeEntry } from "../store/model";
import type { Ledger } from "../store/storage";
import { normaliseIdCard } from "../rules/idcard";
import { normalisePhone } from "../rules/phone";

const CHINA_OFFSET_MS = 8 * 3600_000;
const NOTHING_RESERVED: Reservation = { release: async () => undefined, keep: async () => undefined };

/** The first millisecond of the China-time calendar month of `nowMs`, and the month as YYYY-MM. */
export function chinaMonth(nowMs: number): { month: string; startMs: number } {
  const china = new Date(nowMs + CHINA_OFFSET_MS);
  const startMs = Date.UTC(china.getUTCFullYear(), china.getUTCMonth(), 1) - CHINA_OFFSET_MS;
  return { month: china.toISOString().slice(0, 7), startMs };
}

export class TeamLimits {
  constructor(
    private readonly spend: SpendCounter,
    private readonly daily: DailyCounter,
    private readonly ledger: Pick<Ledger, "spent" | "has">,
    private readonly keyring: Keyring,
    /** this instance's charges of an account since a time that wait for the store (the journal of paid answers) */
    private readonly waitingCharges: (accountId: string, sinceMs: number) => ChargeEntry[],
  ) {}

  /**
   * What the account spent since `startMs`: the ledger, and the charges waiting in the journal that the ledger does
   * not hold yet. The journal is read first: a charge the replay moves into the ledger meanwhile is found there.
   */
  private async spent(accountId: string, startMs: number): Promise<number> {
    const waiting = this.waitingCharges(accountId, startMs);
    let spent = await this.ledger.spent(accountId, startMs);
    for (const charge of waiting) if (!(await this.ledger.has(charge.requestId))) spent += charge.unitPrice;
    return spent;
  }

  /**
   * Sets the call's price aside from the team's budget; refused when it would go past it. The reservation is
   * released when the call is not charged and kept when it is (both no-ops without a budget).
   */
  async reserve(account: Account, price: number, nowMs: number): Promise<Reservation> {
    if (account.monthlyBudget <= 0 || price <= 0) return NOTHING_RESERVED;
    const { month, startMs } = chinaMonth(nowMs);
    const key = `${account.accountId}:${month}`;
    const reserved = await this.spend.reserve(key, price, account.monthlyBudget, () => this.spent(account.accountId, startMs));
    if (!reserved) throw new ApiError("UnauthorizedOperation.Arrears", "The team's monthly budget is spent.");
    return reserved;
  }

  /** One attempt on the team's daily cap for these subjects; false when the cap is reached (nothing counted). */
  async attempt(account: Account, action: string, subjects: { phone?: string; idCard?: string }, nowMs: number): Promise<boolean> {
    if (account.dailyCap <= 0) return true;
    const keys: string[] = [];
    if (subjects.phone)
      keys.push(
        `${account.accountId}:gw:${action}:phone:${this.keyring.hash("phone", normalisePhone(subjects.phone)).toString("base64url")}`,
      );
    if (subjects.idCard)
      keys.push(
        `${account.accountId}:gw:${action}:idcard:${this.keyring.hash("idcard", normaliseIdCard(subjects.idCard)).toString("base64url")}`,
      );
    if (keys.length === 0) return true;
    return this.daily.attempt(keys, account.dailyCap, chinaDate(nowMs));
  }
}
