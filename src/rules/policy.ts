/** What an operator may decide about the pre-checks (SANYAO_DATA_CARDS and friends), with the defaults. */
export interface PrecheckPolicy {
  /** data-card segments 145/147/149 */
  dataCards: "valid" | "unsupported";
  /** China Broadnet 192/1610 */
  broadnet: "valid" | "unsupported";
  /** 18-character numbers starting with 9 (foreigner's permanent residence ID, 2023) */
  foreignPermanentResident: boolean;
  /** 0: province code only; 1: four-digit prefix table */
  regionLevel: 0 | 1;
  minHanChars: 1 | 2;
}

export const defaultPolicy: PrecheckPolicy = {
  dataCards: "valid",
  broadnet: "valid",
  foreignPermanentResident: true,
  regionLevel: 1,
  minHanChars: 2,
};
