import { describe, expect, it } from 'vitest';
import { lookupChunks, MAX_LOOKUP_QUERY_CHARS } from '../../../connectors/schedulehub/client.ts';
import { MAX_LOOKUP } from '../../../connectors/schedulehub/protocol.ts';

describe('lookupChunks', () => {
  const hashes = (n: number, length: number) =>
    Array.from({ length: n }, (_, i) => i.toString(16).padStart(length, '0'));

  it('keeps every bk_hash once, in order, each chunk within the count and the URL budget', () => {
    for (const [n, length] of [
      [0, 32],
      [1, 32],
      [241, 32],
      [243, 32],
      [1200, 32],
      [1200, 8],
      [3, 64],
    ] as const) {
      const input = hashes(n, length);
      const chunks = lookupChunks(input);
      expect(chunks.flat()).toEqual(input);
      for (const chunk of chunks) {
        expect(chunk.length).toBeGreaterThan(0);
        expect(chunk.length).toBeLessThanOrEqual(MAX_LOOKUP);
        expect(chunk.join(',').length).toBeLessThanOrEqual(MAX_LOOKUP_QUERY_CHARS);
      }
    }
  });

  it('fills chunks: 32-character hashes go 242 to a lookup, 8-character ones 500 (the count limit)', () => {
    expect(lookupChunks(hashes(1200, 32)).map((c) => c.length)).toEqual([242, 242, 242, 242, 232]);
    expect(lookupChunks(hashes(1200, 8)).map((c) => c.length)).toEqual([500, 500, 200]);
  });
});
