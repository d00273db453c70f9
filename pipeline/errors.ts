/**
 * Errors are values in the pipeline: a failing field yields one of these and
 * the batch goes on. `layer` names where it failed so the DLQ row and the
 * preview endpoint can say which rule rejected the value.
 */
export const normalizationLayers = ['types', 'strings', 'numbers', 'dates', 'mapping'] as const;
export type NormalizationLayer = (typeof normalizationLayers)[number];
export type PipelineLayer = NormalizationLayer | 'validation';

export interface FieldError {
  /** The target field name (the source name is in the entity config). */
  field: string;
  layer: PipelineLayer;
  /** A stable machine-readable code, e.g. `invalid_number`, `required`, `out_of_range`. */
  code: string;
  message: string;
  /** The value as the failing rule received it. */
  value: unknown;
}

/**
 * What a normalization step returns instead of a value when it rejects one.
 * A class (not a tagged object) so the hot loop tells it apart with one
 * `instanceof` and clean values allocate nothing.
 */
export class Rejection {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

export const reject = (code: string, message: string): Rejection => new Rejection(code, message);

/** Appends to a lazily created list: clean rows never allocate an error array. */
export function withError(errors: FieldError[] | undefined, error: FieldError): FieldError[] {
  if (!errors) return [error];
  errors.push(error);
  return errors;
}
