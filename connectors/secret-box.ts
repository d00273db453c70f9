import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Inline connection secrets at rest: AES-256-GCM under a key the operator
 * keeps outside the database (SYNCFLOW_SECRET_KEY: 32 bytes as base64 or
 * hex; `npm start` keeps one in its data folder). A database dump alone never
 * yields a credential, and a sealed value that was tampered with does not open.
 * The connection's name is bound in as additional data, so a sealed value
 * copied into another connection does not open either.
 */
const VERSION = 'v1';

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

export interface SecretBox {
  seal(plain: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** Parses SYNCFLOW_SECRET_KEY: 32 bytes, base64 (44 chars) or hex (64 chars). */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new SecretBoxError(
      'SYNCFLOW_SECRET_KEY must be 32 random bytes, base64 or hex (for example: openssl rand -base64 32).',
    );
  }
  return key;
}

export const newSecretKey = (): string => randomBytes(32).toString('base64');

export function createSecretBox(keyText: string | undefined): SecretBox {
  const key = keyText ? parseSecretKey(keyText) : undefined;
  const need = (): Buffer => {
    if (key) return key;
    throw new SecretBoxError(
      'Inline secrets need SYNCFLOW_SECRET_KEY (they are stored encrypted with it); set it, or refer to an ' +
        'environment variable instead: { "env": "SYNCFLOW_SECRET_…" }.',
    );
  };
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', need(), iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
      return [VERSION, ...parts].join('.');
    },
    open(sealed, context) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== VERSION || !iv || !tag || body === undefined) {
        throw new SecretBoxError('A stored secret is not in a format this SyncFlow can read.');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', need(), Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        if (error instanceof SecretBoxError) throw error;
        throw new SecretBoxError(
          'A stored secret does not open with this SYNCFLOW_SECRET_KEY (a different key than the one it was saved with?). ' +
            'Set the original key, or save the connection again with its secrets.',
        );
      }
    },
  };
}
