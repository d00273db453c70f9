import { readFile } from 'node:fs/promises';
import { CliError } from './api-client.ts';

/** A JSON file's value; a missing file or bad JSON is a CliError naming the file. */
export async function readJsonFile(file: string): Promise<unknown> {
  if (/\.ya?ml$/i.test(file)) throw new CliError(`${file}: SyncFlow reads JSON files, not YAML.`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A JSON file of one named document or an array of them (entity or connection configurations). */
export async function readNamedDocuments(file: string, what: string): Promise<Array<Record<string, unknown>>> {
  const parsed = await readJsonFile(file);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.some((c) => !c || typeof c !== 'object' || typeof (c as { name?: unknown }).name !== 'string')) {
    throw new CliError(`${file}: every ${what} configuration needs a "name".`);
  }
  return list as Array<Record<string, unknown>>;
}
