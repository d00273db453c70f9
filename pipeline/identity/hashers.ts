import { createBLAKE3, createXXHash128, type IHasher } from 'hash-wasm';

/**
 * The two hash functions of SyncFlow's identity, created once and reused
 * (init / update / digest) rather than through hash-wasm's one-shot helpers,
 * which build a WebAssembly instance state per call.
 * - bk_hash: xxHash128, 32 lower-case hex characters;
 * - data_hash: BLAKE3 (256-bit), 64 lower-case hex characters.
 * Input text is hashed as UTF-8.
 */
export interface IdentityHashers {
  bkHash(canonical: string): string;
  dataHash(canonical: string): string;
}

const digestWith =
  (hasher: IHasher) =>
  (text: string): string => {
    hasher.init();
    hasher.update(text);
    return hasher.digest('hex');
  };

let shared: Promise<IdentityHashers> | undefined;

/** One pair per process: hashers are synchronous once created and JS is single-threaded. */
export function identityHashers(): Promise<IdentityHashers> {
  shared ??= Promise.all([createXXHash128(), createBLAKE3()]).then(([xxh, blake]) => ({
    bkHash: digestWith(xxh),
    dataHash: digestWith(blake),
  }));
  return shared;
}
