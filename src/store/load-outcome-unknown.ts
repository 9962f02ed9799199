/**
 * A bulk load whose last COMMIT went unacknowledged, and whose outcome could not be told afterwards (the database out
 * of reach, or the session that sent the COMMIT not seen to end). Importing the file again is safe: a number imported
 * again is replaced.
 */
export class LoadOutcomeUnknown extends Error {
  constructor(cause: unknown) {
    super(
      "the load's last COMMIT went unacknowledged and whether it landed could not be told; importing the file again is safe (a number imported again is replaced)",
      { cause },
    );
  }
}
