import { readFile } from 'node:fs/promises';
import { CliError } from './api-client.ts';

/** A JSON file of one named document or an array of them (entity or connection configurations). */
export async function readNamedDocuments(file: string, what: string): Promise<Array<Record<string, unknown>>> {
  if (/\.ya?ml$/i.test(file))
    throw new CliError(`${file}: ${what} files are JSON (one configuration or an array of them).`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.some((c) => !c || typeof c !== 'object' || typeof (c as { name?: unknown }).name !== 'string')) {
    throw new CliError(`${file}: every ${what} configuration needs a "name".`);
  }
  return list as Array<Record<string, unknown>>;
}
