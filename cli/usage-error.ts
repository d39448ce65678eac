/** A problem the user fixes with other flags, env or set-up: printed as is, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly exitCode = 2;
}
