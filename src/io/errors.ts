/** A training checkpoint that cannot be used: the message starts with the file at fault. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
