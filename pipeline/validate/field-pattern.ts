import { RE2JS } from 're2js';

/**
 * Field `rules.pattern` on a linear-time engine (RE2, through the pure-JS
 * port re2js): an operator's pattern must never be able to stall the process
 * (`(a+)+` against 31 characters took 80 s on V8's backtracking engine).
 *
 * The dialect is JavaScript's Unicode-mode syntax (the pattern must compile
 * with `new RegExp(p, 'u')`) minus what only a backtracking engine can do:
 * backreferences and lookaround are refused at config time. What RE2 spells
 * differently is translated so the meaning stays JavaScript's: `\uXXXX` and
 * `\u{…}` escapes (surrogate pairs as one code point), `\cX`, `[^]` and `[]`,
 * `.` (no line terminator), `\s`/`\S` (JavaScript's Unicode white space),
 * `[` inside a class (a literal, not RE2's `[:alpha:]`), and
 * `\p{Script=…}` / `\p{General_Category=…}`. The whole value must match.
 *
 * Work per value is bounded twice: a pattern may compile to at most
 * MAX_PATTERN_PROGRAM_SIZE instructions (config time), and a value is matched
 * only up to a length that keeps program size × length within WORK_BUDGET
 * (longer values fail the rule without being matched). RE2 runs in time
 * proportional to that product at worst, about 0.1 µs per unit measured here:
 * under half a second per value for the largest pattern, milliseconds for
 * ordinary ones.
 */
export const MAX_PATTERN_PROGRAM_SIZE = 1_000;
const WORK_BUDGET = 5_000_000;
const MAX_VALUE_LENGTH = 100_000;

export interface FieldPattern {
  /** The pattern as configured. */
  readonly source: string;
  /** Longest value (UTF-16 code units) that is matched; a longer value fails the rule unmatched. */
  readonly maxValueLength: number;
  /** True when the whole value matches (false for a value longer than maxValueLength). */
  test(value: string): boolean;
}

class UnsupportedPattern extends Error {}

/** JavaScript's `\s`: the Unicode white space and line terminators (ECMA-262 WhiteSpace + LineTerminator). */
const JS_SPACE =
  '\\t\\n\\x{b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';
const hex = (codePoint: number) => `\\x{${codePoint.toString(16)}}`;
const isHigh = (n: number) => n >= 0xd800 && n <= 0xdbff;
const isLow = (n: number) => n >= 0xdc00 && n <= 0xdfff;

/** `\p{Script=Greek}`, `\p{sc=Greek}`, `\p{General_Category=Lu}`, `\p{gc=Lu}` → RE2's `\p{Greek}`, `\p{Lu}`. */
function propertyEscape(body: string): string {
  const eq = body.indexOf('=');
  if (eq < 0) return body;
  const name = body.slice(0, eq);
  if (['Script', 'sc', 'General_Category', 'gc'].includes(name)) return body.slice(eq + 1);
  throw new UnsupportedPattern(`the property \\p{${body}} is not supported (use \\p{Script} or \\p{Category})`);
}

/** JavaScript (Unicode mode, already known to compile) → RE2 syntax with the same meaning. */
function toRe2Syntax(source: string): string {
  let out = '';
  let inClass = false;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      const d = source[i + 1]!;
      if (d === 'u') {
        if (source[i + 2] === '{') {
          const end = source.indexOf('}', i + 3);
          out += hex(Number.parseInt(source.slice(i + 3, end), 16));
          i = end + 1;
          continue;
        }
        let codePoint = Number.parseInt(source.slice(i + 2, i + 6), 16);
        i += 6;
        if (isHigh(codePoint) && source.startsWith('\\u', i) && /^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6))) {
          const low = Number.parseInt(source.slice(i + 2, i + 6), 16);
          if (isLow(low)) {
            codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
          }
        }
        out += hex(codePoint);
        continue;
      }
      if (d === 'c') {
        out += hex(source.charCodeAt(i + 2) % 32);
        i += 3;
        continue;
      }
      if (d === 'k' || (d >= '1' && d <= '9')) throw new UnsupportedPattern('backreferences are not supported');
      if (d === '0') {
        out += hex(0);
        i += 2;
        continue;
      }
      if (d === 's' || d === 'S') {
        if (inClass && d === 'S') throw new UnsupportedPattern('\\S inside a character class is not supported');
        out += inClass ? JS_SPACE : d === 's' ? `[${JS_SPACE}]` : `[^${JS_SPACE}]`;
        i += 2;
        continue;
      }
      if (d === 'b' && inClass) {
        out += hex(8); // [\b] is a backspace
        i += 2;
        continue;
      }
      if ((d === 'p' || d === 'P') && source[i + 2] === '{') {
        const end = source.indexOf('}', i + 3);
        out += `\\${d}{${propertyEscape(source.slice(i + 3, end))}}`;
        i = end + 1;
        continue;
      }
      out += c + d;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c; // a literal in JavaScript, a POSIX class ([:alpha:]) opener in RE2
      i++;
      continue;
    }
    if (source.startsWith('[^]', i)) {
      out += '[\\x{0}-\\x{10ffff}]';
      i += 3;
    } else if (source.startsWith('[]', i)) {
      out += '[^\\x{0}-\\x{10ffff}]';
      i += 2;
    } else if (c === '[') {
      inClass = true;
      out += source[i + 1] === '^' ? '[^' : '[';
      i += source[i + 1] === '^' ? 2 : 1;
    } else if (c === '.') {
      out += JS_DOT;
      i++;
    } else if (
      source.startsWith('(?=', i) ||
      source.startsWith('(?!', i) ||
      /^\(\?<[=!]/.test(source.slice(i, i + 4))
    ) {
      throw new UnsupportedPattern('lookahead and lookbehind are not supported');
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

type Compiled = { ok: true; pattern: FieldPattern } | { ok: false; message: string };

export function compileFieldPattern(source: string): Compiled {
  try {
    new RegExp(source, 'u');
  } catch (error) {
    return { ok: false, message: `not a valid regular expression: ${(error as Error).message}` };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2Syntax(source));
  } catch (error) {
    const reason = error instanceof UnsupportedPattern ? error.message : (error as Error).message;
    return { ok: false, message: `not supported by the linear-time pattern engine (RE2): ${reason}` };
  }
  const size = re.programSize();
  if (size > MAX_PATTERN_PROGRAM_SIZE) {
    return {
      ok: false,
      message: `too large for the pattern engine: ${size} instructions, at most ${MAX_PATTERN_PROGRAM_SIZE} (smaller repeat counts help)`,
    };
  }
  const maxValueLength = Math.min(MAX_VALUE_LENGTH, Math.floor(WORK_BUDGET / Math.max(1, size)));
  return {
    ok: true,
    pattern: {
      source,
      maxValueLength,
      test: (value) => value.length <= maxValueLength && re.testExact(value),
    },
  };
}

/** Why a pattern cannot be used (the config error), or undefined when it can. */
export function fieldPatternProblem(source: string): string | undefined {
  const compiled = compileFieldPattern(source);
  return compiled.ok ? undefined : compiled.message;
}

/** A pattern that passed the config check. */
export function fieldPattern(source: string): FieldPattern {
  const compiled = compileFieldPattern(source);
  if (!compiled.ok) throw new Error(`rules.pattern ${JSON.stringify(source)}: ${compiled.message}`);
  return compiled.pattern;
}
