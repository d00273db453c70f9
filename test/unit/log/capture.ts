import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from '../../../log/logger.ts';

/** A logger with SyncFlow's settings writing into an array: the raw lines and each parsed. */
export function captureLogger(level: LevelWithSilent = 'trace'): {
  log: Logger;
  raw: string[];
  lines: () => Array<Record<string, unknown>>;
} {
  const raw: string[] = [];
  const log = createLogger({ level, destination: { write: (line: string) => void raw.push(line) } });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
