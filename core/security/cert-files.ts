import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';
import { BadFileError } from '../errors.js';
import { ReloadingFiles } from './reloading.js';

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
 * A grpc-js certificate provider over PEM files that cert-manager (or an operator) replaces in place: a rotation
 * caught half-way (new certificate, old key) keeps the previous set instead of dropping connections, and a bad
 * file fails the process at start (ReloadingFiles).
 */
export class CertificateFiles implements Provider {
  private readonly files: ReloadingFiles<CertificateSet>;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(paths: CertificateFilePaths, refreshMs: number, onError: (err: unknown) => void = () => {}) {
    this.files = new ReloadingFiles([paths.cert, paths.key, paths.ca], () => readCertificateSet(paths), refreshMs, onError, () => this.emit());
  }

  /** The set in use now. */
  get certificates(): CertificateSet {
    return this.files.current;
  }

  /** How many times a changed set was applied since start. */
  get rotationCount(): number {
    return this.files.reloads;
  }

  /** Looks at the files now (the timer calls this; tests may too). */
  check(): void {
    this.files.check();
  }

  close(): void {
    this.files.close();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Asynchronously, as grpc-js's own provider does: its credentials register their watcher after adding us.
    setImmediate(() => this.caListeners.has(listener) && listener(this.certificates.ca ? { caCertificate: this.certificates.ca } : null));
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
    const { cert, key } = this.certificates;
    return cert && key ? { certificate: cert, privateKey: key } : null;
  }

  private emit(): void {
    const ca = this.certificates.ca ? { caCertificate: this.certificates.ca } : null;
    for (const l of this.caListeners) l(ca);
    const id = this.identityUpdate();
    for (const l of this.identityListeners) l(id);
  }
}
