import type { RecordInput } from '../../connectors/schedulehub/protocol.ts';

/** Per-resource rules the sandbox enforces, like ScheduleHub's own validation: fields that must hold a value. */
export interface ResourceRules {
  required?: string[];
}

export interface RecordProblem {
  code: 'validation_failed';
  message: string;
}

const isEmpty = (value: unknown) =>
  value === null || value === undefined || (typeof value === 'string' && value.trim() === '');

export function validateRecord(
  record: RecordInput,
  rules: ResourceRules | undefined,
  rejectedByFault: boolean,
): RecordProblem | null {
  if (rejectedByFault)
    return { code: 'validation_failed', message: 'sandbox fault: this record is configured to be rejected' };
  const missing = (rules?.required ?? []).filter((field) => isEmpty(record.data[field]));
  if (missing.length > 0)
    return { code: 'validation_failed', message: `required fields missing: ${missing.join(', ')}` };
  return null;
}
