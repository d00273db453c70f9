import type { Random } from './prng.ts';

/**
 * Free text the way an ERP holds it after years of manual entry and
 * interfaces: CRLF and lone CR line ends, control characters (BEL, ESC,
 * vertical tab, C1 NEL), runs of spaces, tabs and no-break spaces, umlauts
 * stored decomposed (u + U+0308), random case. No NUL: PostgreSQL text
 * cannot hold it, so no real ERP export through it carries one either.
 */

const NOUNS = [
  'hex bolt',
  'washer',
  'ball bearing',
  'drive shaft',
  'gear wheel',
  'pump housing',
  'seal ring',
  'mounting bracket',
  'Sechskantschraube',
  'Kugellager',
  'Dichtung',
  'Zahnrad',
  'Gehäuse',
  'Flansch',
  'Mutter',
  'Führungsschiene',
  'operator manual',
  'maintenance handbook',
];
const SPECS = [
  'M8x40',
  'DIN 933',
  '6204-2RS',
  'Ø 20 mm',
  'Edelstahl',
  'verzinkt',
  'zinc plated',
  'für Pumpe P-200',
  'size 3',
  'Größe 4',
  'Ausführung B',
  'edition 2024',
];
const OPERATIONS = [
  'Drehen Außendurchmesser auf Maß',
  'Fräsen Nut 10 mm',
  'Montage Baugruppe',
  'Lackieren RAL 7035',
  'Sichtprüfung und Maßkontrolle',
  'Deburr all edges',
  'Assemble and torque bolts to 25 Nm',
  'Bohren Ø 8,5 durchgehend',
  'Entgraten und Reinigen',
  'Final inspection per drawing',
];
const NOTES = [
  'Toleranz h7',
  'see drawing rev. C',
  'Prüfmittel: Messschieber',
  'Achtung: scharfe Kanten',
  'ref. QA-17',
];

const CONTROL_CHARS = ['\u0007', '\u001b', '\u000b', '\u0085', '\u0001'];
const ODD_SPACES = ['  ', '   ', '\t', '\u00a0', ' \u00a0 '];
const DECOMPOSED: Array<[RegExp, string]> = [
  [/ü/g, 'u\u0308'],
  [/ä/g, 'a\u0308'],
  [/ö/g, 'o\u0308'],
];

function decompose(text: string): string {
  return DECOMPOSED.reduce((out, [letter, combining]) => out.replace(letter, combining), text);
}

function randomCase(text: string, random: Random): string {
  const roll = random.next();
  if (roll < 0.15) return text.toUpperCase();
  if (roll < 0.3) return text.toLowerCase();
  return text;
}

function oddSpacing(text: string, random: Random): string {
  return text.replace(/ /g, () => (random.chance(0.2) ? random.pick(ODD_SPACES) : ' '));
}

function withControlChar(text: string, random: Random): string {
  const at = random.int(0, text.length);
  return text.slice(0, at) + random.pick(CONTROL_CHARS) + text.slice(at);
}

/** An item description: one or two lines, messy in the ways above. */
export function messyDescription(random: Random): string {
  const noun = random.pick(NOUNS);
  const spec = random.pick(SPECS);
  let text = randomCase(`${noun}${random.chance(0.15) ? '\r\n' : ' '}${spec}`, random);
  text = oddSpacing(text, random);
  if (random.chance(0.25)) text = decompose(text);
  if (random.chance(0.08)) text = withControlChar(text, random);
  if (random.chance(0.15)) text = `${random.pick(['', ' ', '  ', '\t'])}${text}${random.pick([' ', '   ', '\r\n'])}`;
  return text;
}

/** Operation text of a work order line: often several lines with CRLF, CR or blank lines in between. */
export function messyOperation(random: Random): string {
  const lines = [random.pick(OPERATIONS)];
  if (random.chance(0.4)) lines.push(random.pick(NOTES));
  if (random.chance(0.1)) lines.push(random.pick(NOTES));
  const joiner = () => random.pick(['\r\n', '\r\n', '\r', '\r\n\r\n', ' \r\n']);
  let text = lines.reduce((out, line, i) => (i === 0 ? line : out + joiner() + line), '');
  text = oddSpacing(text, random);
  if (random.chance(0.3)) text = decompose(text);
  if (random.chance(0.1)) text = withControlChar(text, random);
  if (random.chance(0.1)) text += '\r\n';
  return text;
}

/** Text that normalizes to nothing (so a required field is missing): blanks, line ends, control characters. */
export function blankText(random: Random): string | null {
  return random.pick([null, '', '   ', '\r\n\t', '\u0007 \u000b', '\u00a0\r\n']);
}
