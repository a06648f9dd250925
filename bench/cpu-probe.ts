import { writeFileSync } from 'node:fs';

/**
 * Preloaded into the benchmarked command (`node --import dist/bench/cpu-probe.js ...`): at exit, writes the
 * process's CPU time (all threads, worker threads included) to $TTSNAP_BENCH_CPU_FILE, so that bench:sim
 * can report CPU seconds, which a busy shared machine disturbs far less than wall time.
 */
const file = process.env.TTSNAP_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ user_s: user / 1e6, system_s: system / 1e6 }));
  });
}
