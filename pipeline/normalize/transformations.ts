import { cleanString } from './strings.js';

/**
 * Layer 5 transformations of string fields. Each result goes back through
 * the string cleanup, so the output stays a fixed point (removing `-` from
 * `a - b` would otherwise leave a double space, and case mapping can leave
 * text that NFC recomposes); a transformation that empties a value yields null.
 */
export const transformationNames = [
  'uppercase',
  'lowercase',
  'trim',
  'strip_whitespace',
  'title_case',
  'capitalize',
  'remove_special_chars',
] as const;
export type TransformationName = (typeof transformationNames)[number];

const whitespace = /\s+/g;
// A word starts after the start of text or after anything that is not a letter, digit or apostrophe.
const wordStart = /(^|[^\p{L}\p{N}'’])(\p{L})/gu;
// Letters (with their combining marks), digits and whitespace stay; everything else goes.
const specialChars = /[^\p{L}\p{M}\p{N}\s]/gu;

const transforms: Record<TransformationName, (text: string) => string> = {
  uppercase: (text) => text.toUpperCase(),
  lowercase: (text) => text.toLowerCase(),
  // Layer 2 already trims; kept as a named no-op so configs from the seeds stay valid.
  trim: (text) => text.trim(),
  strip_whitespace: (text) => text.replace(whitespace, ''),
  title_case: (text) =>
    text.toLowerCase().replace(wordStart, (_, before: string, letter: string) => before + letter.toUpperCase()),
  capitalize: (text) => text.charAt(0).toUpperCase() + text.slice(1).toLowerCase(),
  remove_special_chars: (text) => text.replace(specialChars, ''),
};

export function transformationFor(name: TransformationName): (text: string) => string | null {
  const transform = transforms[name];
  return (text) => cleanString(transform(text));
}
