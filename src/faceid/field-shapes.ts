/**
 * Whether a decrypted AES-256-CBC value is well formed for its field, by the very rule the action applies to it
 * next (identity-rules.md). One that is not answers as a field that did not open (faceid-family.md §7.7): CBC has
 * no integrity, so a caller who chooses the IV could otherwise learn from -6/-7/-8 what a captured field holds.
 * That a value opens well formed would still tell something: cbc-pins.ts keeps a captured field from being probed.
 */
import { checkIdCard } from "../rules/idcard";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import type { PrecheckPolicy } from "../rules/policy";
import { chinaDate } from "../rules/precheck";
import type { RuleTables } from "../rules/tables";

export type FieldShape = (field: string, value: string, nowMs: number) => boolean;

export function fieldShapes(tables: RuleTables, policy: PrecheckPolicy): FieldShape {
  const phone = (value: string) => classifyPhone(value, tables.segments, policy).kind !== "invalid";
  const shapes = new Map<string, (value: string, nowMs: number) => boolean>([
    ["Phone", phone],
    ["Mobile", phone],
    ["Name", (value) => checkName(value, policy).kind === "ok"],
    ["IdCard", (value, nowMs) => checkIdCard(value, chinaDate(nowMs), tables.regionPrefixes, policy).kind === "ok"],
  ]);
  // A field with no rule is not one an action lets a caller encrypt: it never reaches here, and is never well formed.
  return (field, value, nowMs) => shapes.get(field)?.(value, nowMs) ?? false;
}
