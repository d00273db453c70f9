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
// A word starts after the start of text or after anything that is not a letter, combining mark, digit or
// apostrophe (a mark belongs to its letter: `ǰo` lower-cases to `j` + U+030C + `o`, one word).
const wordStart = /(^|[^\p{L}\p{M}\p{N}'’])(\p{L})/gu;
// Letters (with their combining marks), digits and whitespace stay; everything else goes.
const specialChars = /[^\p{L}\p{M}\p{N}\s]/gu;

/**
 * The first letter of a word in upper case, as Unicode title case does: a letter whose upper case is several
 * letters keeps only the first one capital (`ß` → `Ss`, `ﬁ` → `Fi`, not `SS` / `FI`), so title_case and
 * capitalize stay idempotent (`SSa` would become `Ssa` on the next run).
 */
function titleLetter(letter: string): string {
  const upper = letter.toUpperCase();
  return upper.length > 1 && upper !== letter ? upper.charAt(0) + upper.slice(1).toLowerCase() : upper;
}

const transforms: Record<TransformationName, (text: string) => string> = {
  uppercase: (text) => text.toUpperCase(),
  lowercase: (text) => text.toLowerCase(),
  // Layer 2 already trims; kept as a named no-op so configs from the seeds stay valid.
  trim: (text) => text.trim(),
  strip_whitespace: (text) => text.replace(whitespace, ''),
  title_case: (text) =>
    text.toLowerCase().replace(wordStart, (_, before: string, letter: string) => before + titleLetter(letter)),
  capitalize: (text) => {
    const first = text.codePointAt(0)! > 0xffff ? 2 : 1; // a letter outside the BMP is two code units
    return titleLetter(text.slice(0, first)) + text.slice(first).toLowerCase();
  },
  remove_special_chars: (text) => text.replace(specialChars, ''),
};

export function transformationFor(name: TransformationName): (text: string) => string | null {
  const transform = transforms[name];
  return (text) => cleanString(transform(text));
}
