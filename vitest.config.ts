import { defineConfig } from 'vitest/config';

// Integration tests start real servers (nats-server, Prometheus, worker processes):
// give them room, and keep files in separate processes so ports and signals never leak.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
