import { describe, expect, it } from 'vitest';
import { runCli } from '../support/procs.js';

describe('worker flags', () => {
  it('a worker started without a backend runs the default trace backend, which names the missing trace and the other backend', async () => {
    // nothing listens on port 1: the backend's flags are checked before any connection is tried
    const { code, stderr } = await runCli(['worker', '--coordinator', '127.0.0.1:1', '--nats', 'nats://127.0.0.1:1', '--listen', '127.0.0.1:0']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toBe('ttsnap: --base: missing; allowed: a reward trace .npy file (the trace backend, the default, needs one; --backend onnx runs a model bundle instead)');
  });
});
