/**
 * A config-time check that a PostgreSQL source `query` is one read-only
 * statement: a single SELECT / WITH … SELECT / VALUES / TABLE. It is a
 * guard rail with a clear message, not the security boundary: the source
 * also sends its SQL as one statement through the extended protocol inside
 * a READ ONLY transaction, and the connection's role decides what may be
 * read. The scanner knows PostgreSQL's lexical rules for comments (nested),
 * '…', E'…', $tag$…$tag$ and "…", so keywords and `;` inside them never count.
 * Pure and dependency-free.
 */

const STARTS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);

/** Words that write, lock, change session state or run code: refused anywhere outside literals and identifiers. */
const REFUSED = new Set([
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'TRUNCATE',
  'COPY',
  'CALL',
  'DO',
  'INTO',
  'LOCK',
  'GRANT',
  'REVOKE',
  'CREATE',
  'ALTER',
  'DROP',
  'SET',
  'RESET',
  'VACUUM',
  'ANALYZE',
  'LISTEN',
  'NOTIFY',
]);

/** Words after FOR that make a row-locking clause (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE). */
const LOCKING = new Set(['UPDATE', 'SHARE', 'NO', 'KEY']);

const WORD_START = /[A-Za-z_\u0080-\uFFFF]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

interface Scan {
  problem: string | null;
  /** Where the statement ends: the index of its one trailing `;`, or the text's length. */
  end: number;
}

function scan(query: string): Scan {
  const fail = (problem: string): Scan => ({ problem, end: query.length });
  const at = (index: number) => `at character ${index + 1}`;
  let i = 0;
  let depth = 0;
  let semicolon = -1;
  let first: string | null = null;
  let previousWord: string | null = null;
  let afterDot = false;
  const n = query.length;
  while (i < n) {
    const c = query[i]!;
    const next = query[i + 1];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      const newline = query.indexOf('\n', i);
      i = newline === -1 ? n : newline + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let nesting = 1;
      const start = i;
      i += 2;
      while (i < n && nesting > 0) {
        if (query[i] === '/' && query[i + 1] === '*') {
          nesting++;
          i += 2;
        } else if (query[i] === '*' && query[i + 1] === '/') {
          nesting--;
          i += 2;
        } else i++;
      }
      if (nesting > 0) return fail(`a /* comment ${at(start)} is never closed`);
      continue;
    }
    // Anything but whitespace and comments after the one `;` means a second statement.
    if (semicolon !== -1) return fail(`a second statement follows the ";" ${at(semicolon)}: one statement only`);
    if (c === ';') {
      semicolon = i;
      i++;
      continue;
    }
    if (first === null && c !== '(' && !WORD_START.test(c)) {
      return fail(`it starts with "${c}": only SELECT, WITH … SELECT, VALUES or TABLE`);
    }
    if (c === "'") {
      const end = quoted(query, i, "'", false);
      if (end === -1) return fail(`a string ${at(i)} is never closed`);
      i = end;
      afterDot = false;
      previousWord = null;
      continue;
    }
    if (c === '"') {
      const end = quoted(query, i, '"', false);
      if (end === -1) return fail(`a quoted identifier ${at(i)} is never closed`);
      i = end;
      afterDot = false;
      previousWord = null;
      continue;
    }
    if (c === '$') {
      if (next !== undefined && /[0-9]/.test(next)) {
        i += 2;
        while (i < n && /[0-9]/.test(query[i]!)) i++;
        continue;
      }
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(query)?.[0];
      if (tag) {
        const close = query.indexOf(tag, i + tag.length);
        if (close === -1) return fail(`a ${tag}-quoted string ${at(i)} is never closed`);
        i = close + tag.length;
        afterDot = false;
        previousWord = null;
        continue;
      }
      i++;
      continue;
    }
    if (WORD_START.test(c)) {
      const start = i;
      while (i < n && WORD_PART.test(query[i]!)) i++;
      const word = query.slice(start, i).toUpperCase();
      if (first === null) {
        first = word;
        if (!STARTS.has(word)) return fail(`it starts with ${word}: only SELECT, WITH … SELECT, VALUES or TABLE`);
      }
      if (word === 'E' && query[i] === "'") {
        const end = quoted(query, i, "'", true);
        if (end === -1) return fail(`a string ${at(i)} is never closed`);
        i = end;
        afterDot = false;
        previousWord = null;
        continue;
      }
      // `t.set` names a column: a word right after a dot is never a keyword.
      if (!afterDot) {
        if (REFUSED.has(word)) {
          return fail(
            `${word} ${at(start)} is not allowed in a source query (quote a column of that name: "${word.toLowerCase()}")`,
          );
        }
        if (previousWord === 'FOR' && LOCKING.has(word)) {
          return fail(`FOR ${word} ${at(start)} locks rows: a source query only reads`);
        }
      }
      previousWord = afterDot ? null : word;
      afterDot = false;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth < 0) return fail(`the ")" ${at(i)} closes a parenthesis that was never opened`);
    }
    afterDot = c === '.';
    previousWord = null;
    i++;
  }
  if (first === null) return fail('it is empty');
  if (depth > 0) return fail(`${depth} parenthes${depth === 1 ? 'is is' : 'es are'} never closed`);
  return { problem: null, end: semicolon === -1 ? n : semicolon };
}

/** The index just after a literal opened at `start`, or -1 when it never closes. Doubled quotes escape; E'…' also backslash. */
function quoted(text: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (backslash && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** Why `query` is not a single read-only statement, in words for the operator; null when it is one. */
export function sourceQueryProblem(query: string): string | null {
  const { problem } = scan(query);
  return problem === null ? null : `the source query must be one SELECT statement: ${problem}`;
}

/** The statement without its trailing `;` (and any comment after it), ready to embed as a subquery. */
export function sourceQueryBody(query: string): string {
  return query.slice(0, scan(query).end).trim();
}
