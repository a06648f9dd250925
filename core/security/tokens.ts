import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BadFileError } from '../errors.js';
import type { Identity } from './identity.js';
import { ReloadingFiles } from './reloading.js';

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const TOKEN = /^[\x21-\x7e]{16,512}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Who a bearer token belongs to: a client identity, or null for a token the server does not know. */
export interface TokenLookup {
  lookup(token: string): Identity | null;
}

/**
 * Bearer tokens a server accepts from clients outside the mesh: a file of `<name> <token>` lines (# comments).
 * Tokens are kept as SHA-256 digests and compared in constant time; a token holder gets the client role.
 */
export class TokenTable implements TokenLookup {
  private readonly entries: { name: string; digest: Buffer }[];

  constructor(readonly file: string) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new BadFileError(file, 'cannot read the client tokens', { cause: err });
    }
    this.entries = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const [name, token, extra] = line.split(/\s+/);
      if (!name || !token || extra !== undefined || !NAME.test(name) || !TOKEN.test(token)) {
        throw new BadFileError(file, `line ${i + 1}: expected '<name> <token>' (name [A-Za-z0-9_.:-]{1,128}, token 16-512 printable characters)`);
      }
      this.entries.push({ name, digest: digest(token) });
    });
  }

  /** The client a token belongs to, or null. */
  lookup(token: string): Identity | null {
    const d = digest(token);
    const hit = this.entries.find((e) => timingSafeEqual(e.digest, d));
    return hit ? { role: 'client', name: hit.name, via: 'token' } : null;
  }
}

/**
 * `--client-tokens-file` as a server uses it: re-read when the file changes (checked every `refreshMs`, as the
 * certificates are), so a token added or revoked takes effect without a restart; a file that no longer parses
 * keeps the previous table and `onError` says why.
 */
export class ClientTokens implements TokenLookup {
  private readonly table: ReloadingFiles<TokenTable>;

  constructor(file: string, refreshMs: number, onError: (err: unknown) => void = () => {}) {
    this.table = new ReloadingFiles([file], () => new TokenTable(file), refreshMs, onError);
  }

  lookup(token: string): Identity | null {
    return this.table.current.lookup(token);
  }

  /** How many times a changed file was applied since start. */
  get reloads(): number {
    return this.table.reloads;
  }

  /** Looks at the file now (the timer calls this; tests may too). */
  check(): void {
    this.table.check();
  }

  close(): void {
    this.table.close();
  }
}

/** Reads a client's bearer token file (one token, surrounding whitespace ignored). */
export function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BadFileError(file, 'cannot read the token', { cause: err });
  }
  if (!TOKEN.test(token)) throw new BadFileError(file, 'not a token: expected 16-512 printable characters without spaces');
  return token;
}
