/**
 * Layer 2: string cleanup. Rules, in this order:
 * 1. CRLF and lone CR become LF (before control removal, which would eat CR);
 * 2. control characters (C0, DEL, C1) are removed, except tab and newline;
 * 3. Unicode NFC;
 * 4. whitespace runs collapse: a run that contains a newline becomes one `\n`
 *    (line structure survives, blank lines and trailing spaces do not), any
 *    other run (spaces, tabs, NBSP, other Unicode spaces) becomes one space;
 * 5. trim; the empty string becomes null.
 * The result is a fixed point: cleaning it again changes nothing.
 */

// Printable ASCII with no leading, trailing or doubled space: already clean.
// Most values from a database are like this, so they skip every replace().
const needsWork = /[^\x21-\x7e ]|^ | $| {2}/;
// Printable ASCII and spaces only: trimming and collapsing spaces is all that can be needed.
const spacedAscii = /^[\x20-\x7e]*$/;
const spaceRuns = / {2,}/g;
const lineBreaks = /\r\n?/g;
const controlChars = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// Whitespace that is not already a lone space: a run of two or more, or a single tab, newline, NBSP…
// (a lone space would be replaced by itself: matching it only costs a callback per word).
const untidyWhitespace = /\s{2,}|[^\S ]/g;
const collapseRun = (run: string): string => (run.includes('\n') ? '\n' : ' ');

export function cleanString(input: string): string | null {
  if (input.length === 0) return null;
  if (!needsWork.test(input)) return input;
  if (spacedAscii.test(input)) {
    const trimmed = input.trim();
    return trimmed.length === 0 ? null : trimmed.includes('  ') ? trimmed.replace(spaceRuns, ' ') : trimmed;
  }
  const cleaned = input
    .replace(lineBreaks, '\n')
    .replace(controlChars, '')
    .normalize('NFC')
    .replace(untidyWhitespace, collapseRun)
    .trim();
  return cleaned.length === 0 ? null : cleaned;
}
