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
  subjects: CallSubjects;
  /** the server clock, ms */
  now: number;
}

export interface ScenarioHook {
  /** the scenario that takes this call, its use already counted; undefined when none does */
  pick(call: ScenarioCall): Promise<{ id: string; effect: ScenarioEffect } | undefined>;
}
