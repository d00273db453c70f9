/**
 * The coded values of the demo ERP: each canonical value with the spellings
 * the source uses for it. The generator draws spellings from here and the
 * entity configurations build their value maps from the same lists, so the
 * two cannot drift apart. `UNMAPPED_*` spellings are deliberately absent
 * from the maps: with `unmapped: 'reject'` they are the demo's
 * "value not in the value map" rows.
 */
export type Vocabulary = Record<string, readonly string[]>;

export const ITEM_TYPES: Vocabulary = {
  book: ['Book', 'BOOK', 'books', 'book'],
  raw_material: ['Raw Material', 'RAW', 'raw material', 'Raw  Material', 'RM'],
  semi_finished: ['Semi-Finished', 'SEMI', 'semi finished', 'SFG'],
  finished_good: ['Finished Good', 'FG', 'finished goods', 'FINISHED'],
  purchased: ['Purchased', 'PURCH', 'buy', 'Purchased Part'],
};
export const UNMAPPED_ITEM_TYPES = ['Misc.', 'TBD', '??', 'Service Item'];

export const WORK_ORDER_STATUSES: Vocabulary = {
  planned: ['PLN', 'Planned', 'planned', 'PL'],
  released: ['REL', 'Released', 'RELEASED', 'rel'],
  in_progress: ['WIP', 'In Progress', 'IN-PROG', 'started'],
  completed: ['CMP', 'Completed', 'DONE', 'TECO'],
  cancelled: ['CNL', 'Cancelled', 'CANCELED', 'X'],
};
export const UNMAPPED_STATUSES = ['HOLD?', 'ZZ', '99', 'parked'];

/** Work centres, spelled in German and English, sometimes with a decomposed umlaut (NFC makes them match). */
export const WORK_CENTERS: Vocabulary = {
  ASSEMBLY: ['Montage', 'MONT', 'assy', 'Assembly'],
  TURNING: ['Drehen', 'TURN', 'Lathe', 'Dreherei'],
  MILLING: ['Fräsen', 'Fra\u0308sen', 'MILL', 'Fraesen'],
  PAINTING: ['Lackierung', 'PAINT', 'Lack'],
  INSPECTION: ['Prüfung', 'Pru\u0308fung', 'QC', 'Inspection'],
};
export const UNMAPPED_WORK_CENTERS = ['WC-??', 'Extern', 'Halle 7', 'n/a'];

/** The value map of the entity config: every spelling → canonical (keys compared case-insensitively after cleanup). */
export function valueMapOf(vocabulary: Vocabulary): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [canonical, spellings] of Object.entries(vocabulary)) {
    for (const spelling of spellings) values[spelling] = canonical;
  }
  return values;
}

export const canonicalValues = (vocabulary: Vocabulary): string[] => Object.keys(vocabulary);
