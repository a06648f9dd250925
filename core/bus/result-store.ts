import type { NatsConnection, KV } from 'nats';

/**
 * Where finished jobs' results outlive the coordinator process: a JetStream key-value bucket. This is the
 * place durability pays: a result stands for hours of accelerator time, whereas a lost score is simply
 * asked for again (so scores stay on core NATS).
 */
export interface ResultStore {
  put(job: string, result: unknown): Promise<void>;
  /** null when the store does not know the job */
  get(job: string): Promise<unknown>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Result documents are JSON; images (bytes) stay out of the store to keep entries small. */
function encode(result: unknown): Uint8Array {
  return enc.encode(JSON.stringify(result, (k, v: unknown) => (k === 'image' ? undefined : v)));
}

export class NatsResultStore implements ResultStore {
  private constructor(private readonly kv: KV) {}

  /**
   * Opens (or creates) bucket `<prefix>_results`, file-backed, one revision per key, entries kept `ttlDays`,
   * `replicas` copies across the JetStream cluster.
   */
  static async open(nc: NatsConnection, prefix: string, ttlDays = 30, replicas = 1): Promise<NatsResultStore> {
    const kv = await nc.jetstream().views.kv(`${prefix}_results`, { history: 1, ttl: ttlDays * 86_400_000, replicas, description: 'ttsnap job results' });
    return new NatsResultStore(kv);
  }

  async put(job: string, result: unknown): Promise<void> {
    await this.kv.put(job, encode(result));
  }

  async get(job: string): Promise<unknown> {
    const entry = await this.kv.get(job);
    if (!entry || entry.operation !== 'PUT') return null;
    return JSON.parse(dec.decode(entry.value)) as unknown;
  }
}
