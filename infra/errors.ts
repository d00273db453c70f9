/**
 * An infrastructure problem the operator can fix: `message` names the cause,
 * `fix` says what to do. Entry points print both and exit non-zero, without a
 * stack trace.
 */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfraError';
  }

  /** One paragraph, as printed to the operator. */
  describe(): string {
    return `${this.message}\n  → ${this.fix}`;
  }
}
