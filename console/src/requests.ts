/** A logged call as the API answers it, narrowed: names and outcomes, never a value. */
import { count, field, flag, optionalText, text, texts } from "./json";

export interface LoggedCall {
  seq: number;
  at: string;
  requestId: string;
  accountId: string;
  secretId: string;
  test: boolean;
  action: string;
  params: string[];
  verifyMode: string;
  encrypted: string[];
  signatureMethod: string;
  result: string | undefined;
  error: string | undefined;
  billable: boolean;
  scenario: string;
  latencyMs: number;
}

export const loggedCallOf = (c: unknown): LoggedCall => ({
  seq: count(field(c, "seq")),
  at: text(field(c, "at")),
  requestId: text(field(c, "requestId")),
  accountId: text(field(c, "accountId")),
  secretId: text(field(c, "secretId")),
  test: flag(field(c, "test")),
  action: text(field(c, "action")),
  params: texts(field(c, "params")),
  verifyMode: text(field(c, "verifyMode")),
  encrypted: texts(field(c, "encrypted")),
  signatureMethod: text(field(c, "signatureMethod")),
  result: optionalText(field(c, "result")),
  error: optionalText(field(c, "error")),
  billable: flag(field(c, "billable")),
  scenario: text(field(c, "scenario")),
  latencyMs: count(field(c, "latencyMs")),
});
