// Every flag the Kubernetes manifests pass to ttsnap exists in the built CLI: the overlays render the commands,
// and `node dist/cli/main.js <command> --help` lists the options that command accepts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { podTemplate } from './pod-checks.js';
import { OVERLAYS, REPO, renderOverlay } from './render.js';

const CLI = join(REPO, 'dist', 'cli', 'main.js');

/** ttsnap subcommand -> the --flags that some overlay passes to it. */
function flagsUsed(): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  for (const name of OVERLAYS) {
    for (const o of renderOverlay(name)) {
      for (const c of podTemplate(o)?.spec?.containers ?? []) {
        const argv = [...(c.command ?? []), ...(c.args ?? [])];
        const at = argv.indexOf('/app/dist/cli/main.js');
        const sub = argv[at + 1];
        if (at < 0 || !sub) continue;
        const set = used.get(sub) ?? new Set<string>();
        for (const a of argv.slice(at + 2)) if (a.startsWith('--')) set.add(a);
        used.set(sub, set);
      }
    }
  }
  return used;
}

describe('the manifests and the CLI agree', () => {
  // four kustomize renders and three CLI starts: the --help calls run side by side, not one after another
  it('every flag the overlays pass is an option of that ttsnap command', async () => {
    const used = flagsUsed();
    expect([...used.keys()].sort()).toEqual(['coordinator', 'search', 'worker']);
    const unknown: string[] = [];
    const helps = await Promise.all([...used.keys()].map((sub) => promisify(execFile)(process.execPath, [CLI, sub, '--help'], { encoding: 'utf8' })));
    for (const [i, [sub, flags]] of [...used].entries()) {
      const help = helps[i]?.stdout ?? '';
      for (const f of flags) if (!new RegExp(`(^|[\\s,])${f}([\\s,<\\[=]|$)`, 'm').test(help)) unknown.push(`${sub} ${f}`);
    }
    expect(unknown).toEqual([]);
    // four kustomize renders (each cluster overlay and its search overlay) and three CLI starts: over 30 s on a
    // loaded 2-core machine, as the other render-heavy deploy tests allow
  }, 120_000);
});
