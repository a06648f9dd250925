import type { Role } from './identity.js';

/** One row of the role table: which roles may call a method, and which request field must equal the caller's name. */
export interface RoleRule {
  readonly roles: readonly Role[];
  /** request field holding an id that must be the caller's own (a worker reports only for itself) */
  readonly ownField?: string;
}

const CLIENT: RoleRule = { roles: ['client'] };
const COORDINATOR: RoleRule = { roles: ['coordinator'] };

/**
 * Who may call what, keyed by the gRPC method path. The README's role table is this table; a method missing
 * here is refused to everybody (test/security/roles.test.ts checks every method of the protos is listed).
 */
export const ROLE_TABLE: Readonly<Record<string, RoleRule>> = {
  '/ttsnap.v1.Coordinator/SubmitJob': CLIENT,
  '/ttsnap.v1.Coordinator/WatchJob': CLIENT,
  '/ttsnap.v1.Coordinator/WatchJobBatches': CLIENT,
  '/ttsnap.v1.Coordinator/GetResult': CLIENT,
  '/ttsnap.v1.Coordinator/ListJobs': CLIENT,
  '/ttsnap.v1.Coordinator/CancelJob': CLIENT,
  '/ttsnap.v1.Coordinator/SubmitJobUpload': CLIENT,
  '/ttsnap.v1.Coordinator/DeleteJob': CLIENT,
  '/ttsnap.v1.Coordinator/GetPromptPreviews': CLIENT,
  '/ttsnap.v1.Coordinator/RegisterWorker': { roles: ['worker'], ownField: 'worker' },
  '/ttsnap.v1.Coordinator/CollectSource': CLIENT,
  '/ttsnap.v1.Coordinator/Collect': CLIENT,
  '/ttsnap.v1.Worker/Capacity': COORDINATOR,
  '/ttsnap.v1.Worker/Take': COORDINATOR,
  '/ttsnap.v1.Worker/Advance': COORDINATOR,
  '/ttsnap.v1.Worker/Release': COORDINATOR,
  '/ttsnap.v1.Worker/ExportLatent': COORDINATOR,
  '/ttsnap.v1.Worker/ImportLatent': COORDINATOR,
  '/ttsnap.v1.Worker/Render': COORDINATOR,
  '/ttsnap.v1.Worker/Holdings': COORDINATOR,
  '/ttsnap.v1.Worker/CollectScores': COORDINATOR,
  '/ttsnap.v1.Worker/CollectScoresStream': COORDINATOR,
  '/ttsnap.v1.Worker/CollectSource': COORDINATOR,
  '/ttsnap.v1.Worker/Batch': COORDINATOR,
};

/** Services open to anyone who completes the TLS handshake (probes use the plaintext health port). */
export const OPEN_SERVICES: readonly string[] = ['/grpc.health.v1.Health/'];

/** The method name of a path, for messages: '/ttsnap.v1.Coordinator/CancelJob' -> 'CancelJob'. */
export function methodName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
