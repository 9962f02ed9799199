/**
 * The scenarios as a running server holds them: read from the store, read again every half second (so a change
 * made by the CLI or another instance is seen within a second), and matched against each call at the hooks of
 * call/hooks.ts: clock scenarios before authentication, the others before an admitted call's answer. A limited
 * scenario's uses are taken in the store, so instances share them exactly.
 */
import type { AdmittedCall, ClockShift, Intervention, KeyedCall, TakenCall } from "../call/hooks";
import type { Keyring } from "../common/keyring";
import type { ScenarioRows } from "../store/ports";
import { normaliseIdCard } from "../rules/idcard";
import { normalisePhone } from "../rules/phone";
import { type Scenario, scenarioOf } from "./scenario";

export const SCENARIO_REFRESH_MS = 500;

/** mulberry32: a small seeded generator, so a seeded scenario draws the same sequence in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a scenario is matched on: an admitted call, or a call before authentication (no subjects yet). */
type MatchedCall = Omit<AdmittedCall, "action"> & { action: string | undefined };

export class ScenarioBook {
  private byAccount = new Map<string, Scenario[]>();
  private clockScenarios = 0;
  private readonly draws = new Map<string, () => number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rows: ScenarioRows,
    private readonly keyring: Keyring,
    /** the account of an enabled key (a clock scenario is matched before the key is checked) */
    private readonly accountOf: (secretId: string) => Promise<{ accountId: string } | undefined>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Reads the scenarios now, then every SCENARIO_REFRESH_MS. */
  async start(): Promise<void> {
    await this.refresh().catch(this.onError);
    this.timer = setInterval(() => void this.refresh().catch(this.onError), SCENARIO_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    const next = new Map<string, Scenario[]>();
    let clocks = 0;
    const ids = new Set<string>();
    for (const row of await this.rows.list()) {
      const scenario = scenarioOf(row);
      ids.add(scenario.id);
      if (scenario.effect.kind === "clock") clocks++;
      const list = next.get(scenario.accountId) ?? [];
      list.push(scenario);
      next.set(scenario.accountId, list);
    }
    this.byAccount = next;
    this.clockScenarios = clocks;
    // A removed scenario's seeded sequence goes with it.
    for (const id of this.draws.keys()) if (!ids.has(id)) this.draws.delete(id);
  }

  /**
   * The beforeAuthentication hook: a clock scenario for a call signed with this key, and how far it moves the
   * call's clock. Undefined at once (no promise) while no clock scenario exists.
   */
  clockShift(call: KeyedCall): Promise<ClockShift | undefined> | undefined {
    if (this.clockScenarios === 0) return undefined;
    return this.shiftFor(call);
  }

  private async shiftFor(call: KeyedCall): Promise<ClockShift | undefined> {
    const accountId = (await this.accountOf(call.secretId))?.accountId;
    if (accountId === undefined) return undefined;
    const taken = await this.take(
      accountId,
      (s) => s.effect.kind === "clock" && this.matches(s, { ...call, accountId, subjects: () => ({}) }),
    );
    return taken?.effect.kind === "clock" ? { by: taken.id, ms: taken.effect.offsetMs } : undefined;
  }

  /**
   * The beforeAnswer hook: the scenario that takes this admitted call, its use already counted. Undefined at once
   * (no promise) when the account has no scenario, so calls of accounts without one never wait a turn.
   */
  pick(call: AdmittedCall): Promise<TakenCall | undefined> | undefined {
    if (!this.byAccount.has(call.accountId)) return undefined;
    return this.take(call.accountId, (s) => s.effect.kind !== "clock" && this.matches(s, call)).then(
      (taken) => taken && { by: taken.id, intervention: this.intervention(taken) },
    );
  }

  /** The first of the account's scenarios that matches and is drawn, its use taken. */
  private async take(accountId: string, matches: (s: Scenario) => boolean): Promise<Scenario | undefined> {
    const candidates = this.byAccount.get(accountId);
    if (!candidates) return undefined;
    for (const s of candidates) {
      if (!matches(s)) continue;
      if (s.probability < 1 && this.draw(s) >= s.probability) continue;
      if (s.remaining !== null) {
        if (!(await this.rows.use(s.id))) {
          s.remaining = 0;
          continue;
        }
        s.remaining--;
      }
      return s;
    }
    return undefined;
  }

  private matches(s: Scenario, call: MatchedCall): boolean {
    if (s.remaining === 0 || (s.untilMs !== undefined && call.now > s.untilMs)) return false;
    if (s.secretId !== undefined && s.secretId !== call.secretId) return false;
    if (s.action !== undefined && s.action !== call.action) return false;
    if (s.phoneHash !== undefined) {
      const { phone } = call.subjects();
      if (phone === undefined || this.keyring.hash("phone", normalisePhone(phone)).toString("base64url") !== s.phoneHash) return false;
    }
    if (s.idCardHash !== undefined) {
      const { idCard } = call.subjects();
      if (idCard === undefined || this.keyring.hash("idcard", normaliseIdCard(idCard)).toString("base64url") !== s.idCardHash) return false;
    }
    return true;
  }

  private draw(s: Scenario): number {
    let next = this.draws.get(s.id);
    if (!next) {
      next = s.seed === undefined ? Math.random : seeded(s.seed);
      this.draws.set(s.id, next);
    }
    return next();
  }

  private intervention(s: Scenario): Intervention {
    const e = s.effect;
    if (e.kind === "clock") throw new Error("a clock scenario is taken before authentication, not here");
    if (e.kind !== "delay") return e;
    return { kind: "delay", ms: e.minMs + Math.floor(Math.random() * (e.maxMs - e.minMs + 1)) };
  }
}
