import * as grpc from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from './errors.js';
import { ANONYMOUS, identityFromCertificate, ROLES, type Identity, type Role } from './identity.js';
import type { TransportSecurity } from './options.js';
import { methodName, OPEN_SERVICES, ROLE_TABLE } from './roles.js';
import type { TokenLookup } from './tokens.js';

/** Metadata key the interceptor sets to the authenticated caller (`<role>/<via>/<name>`); any incoming value is removed. */
export const CALLER_KEY = 'ttsnap-caller';

/**
 * Decides who a caller is and whether it may call a method. With a CA, identities come from the peer
 * certificate's SPIFFE URI SAN or (when client certificates are optional) a bearer token; without one,
 * every caller is the same anonymous identity and may call everything.
 */
export class Authorizer {
  constructor(
    private readonly sec: TransportSecurity,
    private readonly tokens: TokenLookup | null,
  ) {}

  get authenticates(): boolean {
    return this.sec.tls?.ca != null;
  }

  /** The caller of one call; throws UnauthenticatedError with the reason. */
  identify(auth: ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>, metadata: grpc.Metadata): Identity {
    if (!this.authenticates) return ANONYMOUS;
    const peer = auth.sslPeerCertificate;
    // grpc-js reports a peer certificate only when TLS verified it against the CA (also with optional client
    // certificates, where an unverified one is not rejected by TLS but is not reported either).
    if (peer?.raw) {
      const id = identityFromCertificate(peer, this.sec.trustDomain);
      if (typeof id === 'string') throw new UnauthenticatedError(id);
      return id;
    }
    const header = metadata.get('authorization')[0];
    if (typeof header === 'string' && header.startsWith('Bearer ') && this.tokens) {
      const id = this.tokens.lookup(header.slice(7).trim());
      if (id) return id;
      throw new UnauthenticatedError('the bearer token is not known to this server');
    }
    const what = this.sec.clientAuth === 'optional' ? 'no valid client certificate (none, expired, or not signed by the CA)' : 'no client certificate';
    throw new UnauthenticatedError(`${what}${this.tokens ? ' and no bearer token' : ''}; allowed: a certificate signed by the cluster CA with a spiffe://${this.sec.trustDomain}/<role>/<name> URI SAN`);
  }

  /** Throws PermissionDeniedError naming the method when `caller` may not make this call with this request. */
  authorize(path: string, caller: Identity, request: unknown): void {
    if (caller.role === 'anonymous' || OPEN_SERVICES.some((s) => path.startsWith(s))) return;
    const method = methodName(path);
    const rule = ROLE_TABLE[path];
    if (!rule) throw new PermissionDeniedError(method, 'the method is not in the role table');
    if (!rule.roles.includes(caller.role)) {
      throw new PermissionDeniedError(method, `${caller.role} '${caller.name}' may not call it; allowed: ${rule.roles.join(', ')}`);
    }
    if (rule.ownField) {
      const claimed = (request as Record<string, unknown> | null)?.[rule.ownField];
      if (claimed !== caller.name) {
        throw new PermissionDeniedError(method, `${caller.role} '${caller.name}' may only act for itself, not for ${rule.ownField} '${String(claimed).slice(0, 80)}'`);
      }
    }
  }

  /** A grpc-js server interceptor applying identify + authorize to every call before its handler runs. */
  interceptor(): grpc.ServerInterceptor {
    return (descriptor, call) => {
      let caller: Identity = ANONYMOUS;
      const refuse = (err: unknown): void => {
        const code = err instanceof PermissionDeniedError ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
        call.sendStatus({ code, details: err instanceof Error ? err.message : String(err) });
      };
      const listener = new grpc.ServerListenerBuilder()
        .withOnReceiveMetadata((metadata, next) => {
          metadata.remove(CALLER_KEY);
          try {
            caller = this.identify(call.getAuthContext(), metadata);
          } catch (err) {
            return refuse(err);
          }
          metadata.set(CALLER_KEY, `${caller.role}/${caller.via}/${caller.name}`);
          next(metadata);
        })
        .withOnReceiveMessage((message: unknown, next) => {
          try {
            this.authorize(descriptor.path, caller, message);
          } catch (err) {
            return refuse(err);
          }
          next(message);
        })
        .build();
      return new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder().withStart((next) => next(listener)).build());
    };
  }

}

/** The caller the interceptor established for a call (anonymous when the server does not authenticate). */
export function callerOf(metadata: grpc.Metadata): Identity {
  const v = metadata.get(CALLER_KEY)[0];
  const m = typeof v === 'string' ? /^([a-z]+)\/(certificate|token)\/(.+)$/.exec(v) : null;
  const role = m ? ROLES.find((r) => r === m[1]) : undefined;
  return role && m ? { role: role satisfies Role, name: m[3] as string, via: m[2] === 'token' ? 'token' : 'certificate' } : ANONYMOUS;
}
