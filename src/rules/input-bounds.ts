/**
 * The longest input each rule reads, in UTF-16 code units, checked before anything transforms it: NFKC alone can
 * make one character eighteen (U+FDFA), and every step after it walks the whole text. Each bound is several times
 * the longest legitimate form, so no real value meets it; a longer input is malformed for its field and answers
 * as one (-6, -7, -8 and their kin in each action's table).
 * - name: at most 32 Han or 64 Latin code points once normalised (identity-rules.md §2.3), each perhaps a
 *   surrogate pair with a variation selector or a decomposed letter with its marks, spaces around;
 * - phone: 13 digits with +86 / 0086 and separators (§3.1), in full-width forms or not;
 * - identity number: 18 characters (§1.3), spaces around.
 */
export const INPUT_BOUNDS = { name: 256, phone: 64, idCard: 64 } as const;
