import type { PeerCertificate } from 'node:tls';

/** Roles of the role table; `anonymous` is every caller of a server without a CA (nothing authenticated). */
export const ROLES = ['client', 'worker', 'coordinator'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as established by the transport (certificate or bearer token). */
export type Identity =
  | { readonly role: Role; readonly name: string; readonly via: 'certificate' | 'token' }
  | { readonly role: 'anonymous'; readonly name: 'anonymous'; readonly via: 'none' };

export const ANONYMOUS: Identity = { role: 'anonymous', name: 'anonymous', via: 'none' };

/** Names of a role's identities (worker ids among them): the same characters a worker id may use, no slash. */
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** A SPIFFE trust domain: lowercase DNS-ish labels. */
export const TRUST_DOMAIN = /^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$/;

/** `spiffe://<trust domain>/<role>/<name>` -> identity; null when the URI is not one of ours. */
export function parseSpiffe(uri: string, trustDomain: string): Identity | null {
  const m = /^spiffe:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
  if (!m || m[1] !== trustDomain) return null;
  const role = ROLES.find((r) => r === m[2]);
  const name = decodeURIComponent(m[3] as string);
  return role && NAME.test(name) ? { role, name, via: 'certificate' } : null;
}

/** The URI SANs of a peer certificate (Node renders them as `URI:...` entries of `subjectaltname`). */
export function uriSans(cert: Pick<PeerCertificate, 'subjectaltname'>): string[] {
  const san = cert.subjectaltname ?? '';
  return san
    .split(/,\s*/)
    .filter((e) => e.startsWith('URI:'))
    .map((e) => e.slice(4));
}

/**
 * The identity a certificate carries: exactly one SPIFFE URI SAN of the trust domain. Several (a certificate
 * that claims two roles) or none is refused with the reason, so that the caller can be told why.
 */
export function identityFromCertificate(cert: Pick<PeerCertificate, 'subjectaltname'>, trustDomain: string): Identity | string {
  const uris = uriSans(cert);
  const ids = uris.map((u) => parseSpiffe(u, trustDomain)).filter((x): x is Identity => x !== null);
  if (ids.length === 1) return ids[0] as Identity;
  if (ids.length > 1) return `the certificate names ${ids.length} identities; allowed: exactly one spiffe://${trustDomain}/<role>/<name>`;
  const seen = uris.length ? uris.join(', ') : 'no URI SAN';
  return `the certificate carries ${seen}; allowed: a URI SAN spiffe://${trustDomain}/<${ROLES.join('|')}>/<name>`;
}
