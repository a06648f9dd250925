import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { coordinatorProto, workerProto } from '../../core/grpc/load.js';
import { Authorizer, callerOf, CALLER_KEY } from '../../core/security/authorizer.js';
import { identityFromCertificate, parseSpiffe } from '../../core/security/identity.js';
import { compileSecurity, PLAINTEXT } from '../../core/security/options.js';
import { ROLE_TABLE } from '../../core/security/roles.js';

describe('the role table', () => {
  it('lists every method of the Coordinator and Worker services, and nothing else', () => {
    const paths = [coordinatorProto().ttsnap.v1.Coordinator.service, workerProto().ttsnap.v1.Worker.service].flatMap((svc) => Object.values(svc).map((m) => m.path));
    expect(Object.keys(ROLE_TABLE).sort()).toEqual(paths.sort());
  });

  it('says who may call what', () => {
    const mtls = { ...PLAINTEXT, tls: { cert: 'c', key: 'k', ca: 'a' } };
    const auth = new Authorizer(mtls, null);
    const client = { role: 'client', name: 'alice', via: 'certificate' } as const;
    const worker = { role: 'worker', name: 'w1', via: 'certificate' } as const;
    const coord = { role: 'coordinator', name: 'c', via: 'certificate' } as const;
    const allowed = (who: typeof client | typeof worker | typeof coord, path: string, req: object = {}): boolean => {
      try {
        auth.authorize(path, who, req);
        return true;
      } catch {
        return false;
      }
    };
    for (const m of ['SubmitJob', 'WatchJob', 'WatchJobBatches', 'GetResult', 'ListJobs', 'CancelJob', 'CollectSource', 'Collect', 'SubmitJobUpload', 'DeleteJob']) {
      expect([allowed(client, `/ttsnap.v1.Coordinator/${m}`), allowed(worker, `/ttsnap.v1.Coordinator/${m}`), allowed(coord, `/ttsnap.v1.Coordinator/${m}`)]).toEqual([true, false, false]);
    }
    expect(allowed(worker, '/ttsnap.v1.Coordinator/RegisterWorker', { worker: 'w1' })).toBe(true);
    expect(allowed(worker, '/ttsnap.v1.Coordinator/RegisterWorker', { worker: 'w2' })).toBe(false);
    expect(allowed(coord, '/ttsnap.v1.Coordinator/RegisterWorker', { worker: 'c' })).toBe(false);
    for (const m of ['Capacity', 'Take', 'Advance', 'Release', 'ExportLatent', 'ImportLatent', 'Render', 'Holdings', 'CollectScores', 'CollectScoresStream', 'CollectSource', 'Batch']) {
      expect([allowed(client, `/ttsnap.v1.Worker/${m}`), allowed(worker, `/ttsnap.v1.Worker/${m}`), allowed(coord, `/ttsnap.v1.Worker/${m}`)]).toEqual([false, false, true]);
    }
    expect(allowed(client, '/grpc.health.v1.Health/Check')).toBe(true);
    expect(allowed(coord, '/ttsnap.v1.Coordinator/NotInTheTable')).toBe(false);
    expect(() => auth.authorize('/ttsnap.v1.Worker/Take', client, {})).toThrow("Take: permission denied: client 'alice' may not call it; allowed: coordinator");
  });

  it('the caller key cannot be forged: callerOf reads only what the interceptor wrote', () => {
    const md = new grpc.Metadata();
    expect(callerOf(md)).toEqual({ role: 'anonymous', name: 'anonymous', via: 'none' });
    md.set(CALLER_KEY, 'worker/token/w9');
    expect(callerOf(md)).toEqual({ role: 'worker', name: 'w9', via: 'token' });
    md.set(CALLER_KEY, 'root/certificate/x');
    expect(callerOf(md).role).toBe('anonymous');
  });
});

describe('identities from certificates', () => {
  it('parses spiffe://<trust domain>/<role>/<name> of our trust domain only', () => {
    expect(parseSpiffe('spiffe://ttsnap/worker/w-1', 'ttsnap')).toEqual({ role: 'worker', name: 'w-1', via: 'certificate' });
    expect(parseSpiffe('spiffe://other/worker/w-1', 'ttsnap')).toBeNull();
    expect(parseSpiffe('spiffe://ttsnap/admin/w-1', 'ttsnap')).toBeNull();
    expect(parseSpiffe('spiffe://ttsnap/worker/a/b', 'ttsnap')).toBeNull();
    expect(parseSpiffe('spiffe://ttsnap/worker/' + 'x'.repeat(129), 'ttsnap')).toBeNull();
  });

  it('takes exactly one identity: two roles in one certificate are refused with the reason', () => {
    expect(identityFromCertificate({ subjectaltname: 'DNS:w1.ttsnap.svc, URI:spiffe://ttsnap/worker/w1' }, 'ttsnap')).toEqual({ role: 'worker', name: 'w1', via: 'certificate' });
    expect(identityFromCertificate({ subjectaltname: 'URI:spiffe://ttsnap/worker/w1, URI:spiffe://ttsnap/client/w1' }, 'ttsnap')).toBe(
      'the certificate names 2 identities; allowed: exactly one spiffe://ttsnap/<role>/<name>',
    );
  });
});

describe('security flags', () => {
  it('checks them together and names the flag', () => {
    expect(compileSecurity({})).toEqual(PLAINTEXT);
    expect(() => compileSecurity({ tlsCert: '/nonexistent.crt' })).toThrow("--tls-cert: cannot read '/nonexistent.crt'; allowed: a readable PEM file");
    expect(() => compileSecurity({ tlsCert: 'package.json' })).toThrow('--tls-key: missing; allowed: both --tls-cert and --tls-key, or neither');
    expect(() => compileSecurity({ tlsClientAuth: 'maybe' })).toThrow("--tls-client-auth: got 'maybe'; allowed: require | optional");
    expect(() => compileSecurity({ trustDomain: 'Bad Domain' })).toThrow("--trust-domain: got 'Bad Domain'");
    expect(() => compileSecurity({ tokenFile: 'package.json' })).toThrow('--token-file: given without --tls-ca');
  });
});
