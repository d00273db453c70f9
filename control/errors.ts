/**
 * Errors of the control operations, each with the HTTP status the API answers
 * with; the CLI and the demo print their messages as they are.
 */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 503,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const unknownEntity = (name: string) => new ControlError(404, 'entity_not_found', `No entity named "${name}".`);
export const unknownBatch = (uid: string) => new ControlError(404, 'batch_not_found', `No sync batch ${uid}.`);
