/**
 * Input refused as it stands, with what it wants: the operations API answers it with 400, the CLI with its
 * message and exit status 2. The message names the field, never the value it got.
 */
export class InputError extends Error {}
