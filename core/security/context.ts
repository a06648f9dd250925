import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../errors.js';
import { Authorizer } from './authorizer.js';
import { CertificateFiles } from './cert-files.js';
import { PLAINTEXT, type TransportSecurity } from './options.js';
import { ClientTokens, readToken } from './tokens.js';

/**
 * The live security state of one process: its certificate files (re-read on change), accepted tokens and
 * authoriser, and the gRPC credentials made from them. One per process; servers and clients share it.
 */
export class SecurityContext {
  readonly certs: CertificateFiles | null;
  readonly authorizer: Authorizer;
  /** `--client-tokens-file`, re-read when it changes */
  readonly tokens: ClientTokens | null;
  private readonly token: string | null;

  constructor(
    readonly options: TransportSecurity,
    /** a changed certificate or tokens file that cannot be used (yet): the previous one stays in use */
    onRotationError: (err: unknown) => void = () => {},
  ) {
    const tls = options.tls;
    this.certs = tls ? new CertificateFiles(tls, options.refreshMs, onRotationError) : null;
    this.tokens = options.clientTokensFile ? new ClientTokens(options.clientTokensFile, options.refreshMs, onRotationError) : null;
    this.token = options.tokenFile ? readToken(options.tokenFile) : null;
    this.authorizer = new Authorizer(options, this.tokens);
  }

  get secure(): boolean {
    return this.certs !== null;
  }

  /** Server credentials; rotation reaches new connections through the certificate provider. */
  serverCredentials(): grpc.ServerCredentials {
    if (!this.certs) return grpc.ServerCredentials.createInsecure();
    if (!this.certs.certificates.cert) throw new ValidationError('--tls-cert', 'missing', 'a server needs --tls-cert and --tls-key (with --tls-ca to authenticate callers)');
    // grpc-js 1.14 declares (ca, identity) but its constructor takes (identity, ca): passing the same provider for
    // both is correct either way; without a CA the provider goes first, as the implementation expects (see
    // test/security/tls.test.ts, which serves TLS without a CA).
    const withCa = this.certs.certificates.ca !== null;
    return grpc.experimental.createCertificateProviderServerCredentials(this.certs, withCa ? this.certs : null, withCa && this.options.clientAuth === 'require');
  }

  /** Channel credentials for dialing a peer: verify it against the CA, present our certificate, add the token. */
  channelCredentials(): grpc.ChannelCredentials {
    if (!this.certs) return grpc.credentials.createInsecure();
    const { cert, key, ca } = this.certs.certificates;
    const base = ca
      ? grpc.experimental.createCertificateProviderChannelCredentials(this.certs, cert && key ? this.certs : null)
      : grpc.credentials.createSsl(null, key, cert);
    if (!this.token) return base;
    const header = `Bearer ${this.token}`;
    const call = grpc.credentials.createFromMetadataGenerator((_params, done) => {
      const md = new grpc.Metadata();
      md.set('authorization', header);
      done(null, md);
    });
    return grpc.credentials.combineChannelCredentials(base, call);
  }

  close(): void {
    this.certs?.close();
    this.tokens?.close();
  }
}

/** Plaintext, unauthenticated: tests and the embedded mode. */
export function plaintextContext(): SecurityContext {
  return new SecurityContext(PLAINTEXT);
}
