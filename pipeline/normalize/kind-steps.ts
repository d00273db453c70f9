import { canonicalJson } from '../canonical-json.js';
import type { DeclaredKind } from '../declared-type.js';
import type { FieldConfig } from '../entity-config.js';
import { type NormalizationLayer, Rejection, reject } from '../errors.js';
import type { DateOrder } from './date-text.js';
import { createDateNormalizer, createTimestampNormalizer } from './dates.js';
import { exactNumber, plainDecimalOf } from './decimal.js';
import { type DecimalSeparator, parseNumberText, toInteger } from './numbers.js';
import { parseBoolean, parseHex, parseJsonValue } from './scalars.js';
import { cleanString } from './strings.js';
import { transformationFor } from './transformations.js';
import { createValueMapper } from './value-map.js';

/**
 * The layers one field goes through, chosen once from its declared kind and
 * options. A step receives a non-null value and returns the next value, null
 * (nothing left: default/required apply) or a Rejection. Layers that do not
 * apply to a kind have no step at all, so a row pays only for its own layers.
 */
export interface FieldStep {
  layer: NormalizationLayer;
  run: (value: unknown) => unknown;
}

export interface StepContext {
  zone: string;
  dateOrder: DateOrder;
  decimalSeparator: DecimalSeparator;
}

const wrongType = (kind: string, value: unknown): Rejection =>
  reject('invalid_type', `a ${typeof value} cannot be read as ${kind}`);

/** Layer 1 for string fields: any scalar becomes its text; documents their canonical JSON. */
function toText(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? plainDecimalOf(value) : reject('not_finite', `${value} is not a finite number`);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value instanceof Date) {
        return Number.isNaN(value.getTime()) ? reject('invalid_date', 'an invalid Date object') : value.toISOString();
      }
      if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
      return canonicalJson(value);
    default:
      return wrongType('string', value);
  }
}

function toNumeric(value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return reject('not_finite', `${value} is not a finite number`);
    return value === 0 ? 0 : value; // -0 is 0
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return exactNumber(value.toString());
  return wrongType('a number', value);
}

const eightDigits = /^\d{8}$/;
function toTemporal(value: unknown): unknown {
  if (typeof value === 'string' || value instanceof Date) return value;
  // An ERP NUMBER holding YYYYMMDD.
  if (typeof value === 'number' && Number.isInteger(value) && eightDigits.test(String(value))) return String(value);
  return wrongType('a date', value);
}

function toBoolean(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return parseBoolean(value);
  if (typeof value === 'string') {
    const text = value.trim();
    return text === '' ? null : parseBoolean(text);
  }
  return wrongType('a boolean', value);
}

function toHex(value: unknown): unknown {
  if (value instanceof Uint8Array) return parseHex(value);
  if (typeof value === 'string') {
    const text = value.trim();
    return text === '' ? null : parseHex(text);
  }
  return wrongType('binary', value);
}

function toJson(value: unknown): unknown {
  // JSON text skips the string layer: collapsing whitespace would change string contents inside it.
  if (typeof value === 'string') {
    const text = value.trim();
    return text === '' ? null : parseJsonValue(text);
  }
  return parseJsonValue(value);
}

const cleanIfText = (value: unknown): unknown => (typeof value === 'string' ? cleanString(value) : value);

function numberStep(field: FieldConfig, integer: boolean, separator: DecimalSeparator): FieldStep {
  const { min, max } = field.range ?? {};
  const ranged = min !== undefined || max !== undefined;
  return {
    layer: 'numbers',
    run: (value) => {
      let parsed = typeof value === 'string' ? parseNumberText(value, separator) : value;
      if (parsed instanceof Rejection) return parsed;
      if (integer) parsed = toInteger(parsed as number | string);
      if (!ranged || parsed instanceof Rejection) return parsed;
      return checkRange(parsed as number | string, min, max);
    },
  };
}

/** Range check shared by layer 3 and the validation stage. Exact decimal text is compared as a double. */
export function checkRange(value: number | string, min: number | undefined, max: number | undefined): unknown {
  const numeric = typeof value === 'number' ? value : Number(value);
  if (min !== undefined && numeric < min) return reject('out_of_range', `${value} is below the minimum ${min}`);
  if (max !== undefined && numeric > max) return reject('out_of_range', `${value} is above the maximum ${max}`);
  return value;
}

function mappingSteps(field: FieldConfig): FieldStep[] {
  const transform = field.transformation ? transformationFor(field.transformation) : undefined;
  const steps: FieldStep[] = [];
  if (transform) steps.push({ layer: 'mapping', run: (value) => transform(value as string) });
  if (field.valueMap) {
    const valueMap = field.valueMap;
    const canonical = (text: string) => cleanString(text) ?? text;
    const mapper = createValueMapper(
      {
        ...valueMap,
        values: Object.fromEntries(Object.entries(valueMap.values).map(([k, v]) => [k, canonical(v)])),
        default: valueMap.default === undefined ? undefined : canonical(valueMap.default),
      },
      (key) => {
        const cleaned = cleanString(key);
        return cleaned === null || !transform ? cleaned : transform(cleaned);
      },
    );
    steps.push({ layer: 'mapping', run: (value) => mapper(value as string) });
  }
  return steps;
}

/** The steps of one scalar value of a field, in layer order. */
export function scalarSteps(field: FieldConfig, kind: DeclaredKind, context: StepContext): FieldStep[] {
  switch (kind) {
    case 'string':
      return [{ layer: 'types', run: toText }, { layer: 'strings', run: cleanIfText }, ...mappingSteps(field)];
    case 'integer':
    case 'number':
      return [
        { layer: 'types', run: toNumeric },
        { layer: 'strings', run: cleanIfText },
        numberStep(field, kind === 'integer', context.decimalSeparator),
      ];
    case 'date':
    case 'timestamp': {
      const normalize =
        kind === 'date'
          ? createDateNormalizer(context.zone, context.dateOrder)
          : createTimestampNormalizer(context.zone, context.dateOrder);
      return [
        { layer: 'types', run: toTemporal },
        { layer: 'strings', run: cleanIfText },
        { layer: 'dates', run: (value) => normalize(value as string | Date) },
      ];
    }
    case 'boolean':
      return [{ layer: 'types', run: toBoolean }];
    case 'binary':
      return [{ layer: 'types', run: toHex }];
    case 'json':
      return [{ layer: 'types', run: toJson }];
  }
}
