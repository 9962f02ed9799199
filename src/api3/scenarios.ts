/**
 * What the pipeline asks of the test kit's scenarios once a call is authenticated and its parameters are valid:
 * whether one applies, and what it makes of the call. The protocol layer knows no scenario store.
 */
import type { ErrorCode } from "./errors";
import type { CallSubjects } from "./router";

export type ScenarioEffect =
  | { kind: "result"; result: string }
  | { kind: "error"; code: ErrorCode }
  | { kind: "delay"; ms: number }
  | { kind: "reset" }
  | { kind: "hang" };

export interface ScenarioCall {
  accountId: string;
  secretId: string;
  action: string;
  /** asked only when the account has scenarios */
  subjects: () => CallSubjects;
  /** the server clock, ms */
  now: number;
}

export interface ScenarioHook {
  /**
   * The scenario that takes this call, its use already counted. Undefined at once (no promise) when the account has
   * no scenario, so calls of accounts without one never wait a turn.
   */
  pick(call: ScenarioCall): Promise<{ id: string; effect: ScenarioEffect } | undefined> | undefined;
  /** whether any clock scenario exists (clockShift is worth asking) */
  readonly hasClockScenarios: boolean;
  /**
   * Before authentication: a clock scenario for a call signed with this key, and how far it moves the call's clock.
   * `keys` tells the key's account; it is asked only when some clock scenario exists.
   */
  clockShift(
    call: { secretId: string; action: string | undefined; now: number },
    keys: (secretId: string) => Promise<{ accountId: string } | undefined>,
  ): Promise<{ id: string; ms: number } | undefined>;
}
