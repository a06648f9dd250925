import { describe, expect, it } from 'vitest';
import { runCli } from '../support/procs.js';

describe('coordinator flags', () => {
  it('refuses a worker timeout shorter than three heartbeats (500 ms apart at least), naming the flag and the range', async () => {
    // nothing listens on port 1: the flag is checked before any connection is tried
    const { code, stderr } = await runCli(['coordinator', '--listen', '127.0.0.1:0', '--nats', 'nats://127.0.0.1:1', '--worker-timeout-ms', '1000']);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("ttsnap: --worker-timeout-ms: got '1000'; allowed: an integer in [1500, 3600000]");
  });
});
