import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';
import { BadFileError } from '../errors.js';

type Provider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** PEM contents of one consistent set of files. */
export interface CertificateSet {
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  readonly ca: Buffer | null;
}

export interface CertificateFilePaths {
  readonly cert: string | null;
  readonly key: string | null;
  readonly ca: string | null;
}

function stamp(paths: CertificateFilePaths): string {
  return [paths.cert, paths.key, paths.ca]
    .map((p) => {
      if (!p) return '-';
      try {
        const s = statSync(p);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Reads the files and checks that they make a TLS context (key matches certificate, PEM parses); throws otherwise. */
export function readCertificateSet(paths: CertificateFilePaths): CertificateSet {
  const read = (p: string | null, what: string): Buffer | null => {
    if (!p) return null;
    try {
      return readFileSync(p);
    } catch (err) {
      throw new BadFileError(p, `cannot read the ${what}`, { cause: err });
    }
  };
  const set = { cert: read(paths.cert, 'certificate'), key: read(paths.key, 'private key'), ca: read(paths.ca, 'CA certificate') };
  try {
    createSecureContext({ ...(set.cert ? { cert: set.cert } : {}), ...(set.key ? { key: set.key } : {}), ...(set.ca ? { ca: set.ca } : {}) });
  } catch (err) {
    const file = paths.cert ?? paths.ca ?? '';
    throw new BadFileError(file, `not a usable certificate set (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  // OpenSSL silently drops a key that does not match the certificate (and then fails every handshake): check here.
  if (set.cert && set.key && !new X509Certificate(set.cert).checkPrivateKey(createPrivateKey(set.key))) {
    throw new BadFileError(paths.key ?? '', `the private key does not belong to the certificate ${paths.cert ?? ''}`);
  }
  return set;
}

/**
 * A grpc-js certificate provider over PEM files that cert-manager (or an operator) replaces in place. The files
 * are stat()ed every `refreshMs`; a change is read and applied only when the new set is complete and consistent,
 * so a rotation caught half-way (new certificate, old key) keeps the previous set instead of dropping connections.
 * The first read happens in the constructor, so a bad file fails the process at start.
 */
export class CertificateFiles implements Provider {
  private current: CertificateSet;
  private seen: string;
  private readonly timer: NodeJS.Timeout;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private rotations = 0;

  constructor(
    private readonly paths: CertificateFilePaths,
    refreshMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.seen = stamp(paths);
    this.current = readCertificateSet(paths);
    this.timer = setInterval(() => this.check(), refreshMs).unref();
  }

  /** The set in use now. */
  get certificates(): CertificateSet {
    return this.current;
  }

  /** How many times a changed set was applied since start. */
  get rotationCount(): number {
    return this.rotations;
  }

  /** Looks at the files now (the timer calls this; tests may too). */
  check(): void {
    const now = stamp(this.paths);
    if (now === this.seen) return;
    try {
      this.current = readCertificateSet(this.paths);
      this.seen = now;
      this.rotations += 1;
      this.emit();
    } catch (err) {
      // Keep serving with the previous set; the next tick looks again (the writer may not be done).
      this.onError(err);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Asynchronously, as grpc-js's own provider does: its credentials register their watcher after adding us.
    setImmediate(() => this.caListeners.has(listener) && listener(this.current.ca ? { caCertificate: this.current.ca } : null));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    setImmediate(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.current;
    return cert && key ? { certificate: cert, privateKey: key } : null;
  }

  private emit(): void {
    const ca = this.current.ca ? { caCertificate: this.current.ca } : null;
    for (const l of this.caListeners) l(ca);
    const id = this.identityUpdate();
    for (const l of this.identityListeners) l(id);
  }
}
