/** Mainland mobile numbers: identity-rules.md §3. Pure: the segment table comes in as data. */
import { INPUT_BOUNDS } from "./input-bounds";
import type { PrecheckPolicy } from "./policy";
import type { Carrier, SegmentCategory, SegmentRow } from "./tables";

export type PhoneCheck =
  | { kind: "ok"; national: string; carrier: Carrier; category: SegmentCategory }
  | { kind: "unsupported"; national: string; carrier: Carrier; category: SegmentCategory }
  | { kind: "invalid"; national: string; reason: string };

/**
 * NFKC, trim, drop spaces and hyphens, strip one +86 / 0086 / 86 prefix (§3.1 steps 1–3). An input past its bound
 * is no number however normalised: it comes back as it is.
 */
export function normalisePhone(input: string): string {
  if (input.length > INPUT_BOUNDS.phone) return input;
  let s = input.normalize("NFKC").trim().replace(/[ -]/g, "");
  if (s.startsWith("+86")) s = s.slice(3);
  else if (s.startsWith("0086")) s = s.slice(4);
  else if (/^861(\d{10}|\d{12})$/.test(s)) s = s.slice(2);
  return s;
}

function findSegment(segments: ReadonlyMap<string, SegmentRow>, digits: string): SegmentRow | undefined {
  for (const len of [5, 4, 3]) {
    const row = segments.get(digits.slice(0, len));
    if (row?.lengths.includes(digits.length)) return row;
  }
  return undefined;
}

export function classifyPhone(input: string, segments: ReadonlyMap<string, SegmentRow>, policy: PrecheckPolicy): PhoneCheck {
  if (input.length > INPUT_BOUNDS.phone) return { kind: "invalid", national: "", reason: "too long" };
  const national = normalisePhone(input);
  if (!/^\d+$/.test(national)) return { kind: "invalid", national, reason: "not digits after normalisation" };
  if (national.length !== 11 && national.length !== 13) return { kind: "invalid", national, reason: "wrong length" };
  if (national.length === 11 && !/^1[3-9]/.test(national)) return { kind: "invalid", national, reason: "not a mobile range" };
  const row = findSegment(segments, national);
  if (!row || row.result === "invalid") return { kind: "invalid", national, reason: "segment not allocated" };
  const switchedOff = row.policy !== null && policy[row.policy] === "unsupported";
  if (row.result === "unsupported" || switchedOff) {
    return { kind: "unsupported", national, carrier: row.carrier, category: row.category };
  }
  return { kind: "ok", national, carrier: row.carrier, category: row.category };
}
