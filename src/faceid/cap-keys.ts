/**
 * The daily caps' keys, in one place for every protocol (faceid-family.md §7; alibaba-cloudauth.md §8.7): a person's
 * attempts are counted under the keyed hashes of their number and identity number, the very bytes a record keeps
 * (keyring.hash "phone" and "idcard"), so a call that finds the record by a digest counts under the same keys.
 */
const key = (hash: Buffer) => hash.toString("base64url");

/** The three-element checks' caps (PhoneVerification and Mobile3Meta*): per number and per identity number. */
export const threeElementCapKeys = (accountId: string, phoneHash: Buffer, idCardHash: Buffer): string[] => [
  `${accountId}:phone:${key(phoneHash)}`,
  `${accountId}:idcard:${key(idCardHash)}`,
];

/**
 * The same in md5 mode when the digests do not match the record: the number is the record's, but the identity number
 * asked about is only known by its digest, so it is counted under a keyed hash of that digest (keyring "idcard-digest"):
 * probing one identity number across many numbers is capped as in plaintext, and no holder's cap is spent by calls
 * that never named them.
 */
export const threeElementDigestCapKeys = (accountId: string, phoneHash: Buffer, idCardDigestHash: Buffer): string[] => [
  `${accountId}:phone:${key(phoneHash)}`,
  `${accountId}:idcard-digest:${key(idCardDigestHash)}`,
];

/** A number check's cap (MobileStatus, MobileNetworkTimeVerification and their Cloudauth twins): per check and number. */
export const numberCheckCapKey = (accountId: string, capName: string, phoneHash: Buffer): string =>
  `${accountId}:${capName}:${key(phoneHash)}`;

/**
 * CheckPhoneAndName's cap (Mobile2MetaVerify's too): per number, apart from the three-element checks'. Named by the
 * check whichever action asks; written out here, not imported from the check, as the counts are kept by this key.
 */
export const phoneAndNameCapKey = (accountId: string, phoneHash: Buffer): string => `${accountId}:CheckPhoneAndName:${key(phoneHash)}`;
