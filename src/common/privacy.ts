/** Masks for logs and the audit trail (design.md "Data that must never leak"). */

/** 138****5678 for a well-formed number; otherwise only its length shows. */
export function maskPhone(national: string | undefined): string {
  if (!national) return "";
  if (/^\d{11}$/.test(national)) return `${national.slice(0, 3)}****${national.slice(7)}`;
  if (/^\d{13}$/.test(national)) return `${national.slice(0, 4)}*****${national.slice(9)}`;
  return `*(${[...national].length})`;
}

/** 1101**********123X */
export function maskIdCard(id18: string): string {
  return id18.length === 18 ? `${id18.slice(0, 4)}${"*".repeat(10)}${id18.slice(14)}` : `*(${id18.length})`;
}

/** 张* — the first character only. */
export function maskName(name: string): string {
  const chars = [...name];
  return chars.length === 0 ? "" : `${chars[0]}${"*".repeat(Math.max(1, chars.length - 1))}`;
}
