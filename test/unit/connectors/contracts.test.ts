import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_FILES, contractDocuments, renderContract } from '../../../sandbox/contracts.ts';

describe('written contracts', () => {
  it('docs/contracts/*.openapi.yaml match the schemas the connectors and sandboxes use', async () => {
    const documents = contractDocuments();
    for (const [system, file] of Object.entries(CONTRACT_FILES)) {
      const committed = await readFile(path.resolve(import.meta.dirname, '../../..', file), 'utf8');
      expect(committed, `${file} is stale: run npx tsx sandbox/contracts.ts`).toBe(
        renderContract(documents[system as keyof typeof documents]),
      );
    }
  });

  it('cover every operation SyncFlow calls', () => {
    const { apismith, schedulehub } = contractDocuments();
    expect(Object.keys(apismith.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/token',
        '/api/v1/auth/refresh',
        '/api/v1/connectors',
        '/api/v1/apis',
        '/api/v1/apis/{slug}',
        '/api/v1/runtime/{slug}/execute',
      ]),
    );
    expect(Object.keys(schedulehub.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/api/v1/resources/{resource}/records',
        '/api/v1/resources/{resource}/records/by-bk-hash/{bk_hash}',
        '/api/v1/resources/{resource}/records/{uid}',
        '/api/v1/resources/{resource}/batch/insert',
        '/api/v1/resources/{resource}/batch/update',
        '/api/v1/resources/{resource}/batch/delete',
      ]),
    );
  });
});
