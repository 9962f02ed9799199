/**
 * Narrowing what the operations API answers: nothing read from the network is trusted to have its shape. Each
 * reader returns a typed value or a neutral one (an empty text, zero, an empty list) so a page never throws on an
 * answer from another version of the server.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** a field of an object, or undefined */
export const field = (value: unknown, key: string): unknown => (isRecord(value) ? value[key] : undefined);

export const text = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "");

export const optionalText = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

export const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

export const optionalCount = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

export const flag = (value: unknown): boolean => value === true;

export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export const texts = (value: unknown): string[] => list(value).filter((v): v is string => typeof v === "string");

/** an object's number fields, as [name, count] pairs (counts by status, by carrier) */
export const counts = (value: unknown): Array<[string, number]> =>
  isRecord(value) ? Object.entries(value).flatMap(([k, v]) => (typeof v === "number" ? [[k, v] as [string, number]] : [])) : [];
