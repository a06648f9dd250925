// No Docker engine runs here, so the Dockerfiles are checked by reading them: the runtime stage carries every
// file the program reads at run time besides dist/ (proto/, models/tiny, worker/onnx/onnx.proto...), none of
// them excluded by .dockerignore; it runs as a non-root uid the manifests agree with, from pinned base images on a
// supported Node LTS, with the entrypoint the manifests call and OCI labels; npm ci runs with the project's .npmrc;
// the GPU image takes onnxruntime's CUDA provider from a NuGet package checked against a sha256.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './render.js';

interface Stage {
  from: string;
  lines: string[];
}

/** Dockerfile stages (continuation lines joined), with ARG defaults substituted into FROM. */
function stages(file: string): Stage[] {
  const text = readFileSync(join(REPO, 'deploy', file), 'utf8').replace(/\\\n\s*(#.*\n\s*)*/g, ' ');
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const arg = /^ARG (\w+)=(\S+)$/.exec(line);
    if (arg?.[1] && arg[2] && out.length === 0) args.set(arg[1], arg[2]);
    const from = /^FROM (\S+)/.exec(line);
    if (from?.[1]) out.push({ from: from[1].replace(/\$\{(\w+)\}/g, (_m, v: string) => args.get(v) ?? ''), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** Sources that the runtime stage copies from the build stage's /src. */
const runtimeSources = (file: string): string[] =>
  (stages(file).at(-1)?.lines ?? []).flatMap((l) => {
    const m = /^COPY --from=build \/src\/(\S+) /.exec(l);
    return m?.[1] ? [m[1]] : [];
  });

const dockerignore = readFileSync(join(REPO, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const ignored = (path: string) =>
  dockerignore.some((p) => (p.startsWith('**/*') ? path.endsWith(p.slice(4)) : path === p || path.startsWith(`${p}/`)));

describe.each(['Dockerfile', 'Dockerfile.gpu'])('deploy/%s', (file) => {
  it('copies every run-time file outside dist/ into the runtime stage, none of them dockerignored', () => {
    const sources = runtimeSources(file);
    expect(sources.slice(0, 3)).toEqual(['package.json', 'node_modules', 'dist']);
    // tracked files in the program's folders other than TypeScript and docs are read at run time (proto,
    // onnx.proto, models/tiny)
    const tracked = execFileSync('git', ['ls-files', 'proto', 'models/tiny', 'core', 'coordinator', 'worker', 'cli'], { cwd: REPO, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.endsWith('.ts') && !f.endsWith('.md'));
    expect(tracked.length).toBeGreaterThan(0);
    const missing = tracked.filter((f) => !sources.some((s) => f === s || f.startsWith(`${s}/`)));
    expect(missing).toEqual([]);
    for (const s of sources.slice(3)) {
      expect(existsSync(join(REPO, s)), s).toBe(true);
      expect(ignored(s), `${s} is in .dockerignore`).toBe(false);
    }
  });

  it('runs as uid/gid 1000 from pinned base images with the entrypoint the manifests call', () => {
    const all = stages(file);
    for (const s of all) expect(s.from, 'base image').toMatch(/^(?:[\w.-]+\/)*[\w.-]+:(?!latest$)[\w][\w.-]*$|^\w+$/);
    const runtime = all.at(-1);
    expect(runtime?.lines.filter((l) => l.startsWith('USER '))).toEqual(['USER 1000:1000']);
    expect(runtime?.lines).toContain('ENTRYPOINT ["node", "/app/dist/cli/main.js"]');
    expect(runtime?.lines).toContain('WORKDIR /app');
    const install = all[file === 'Dockerfile' ? 0 : 1]?.lines.find((l) => l.startsWith('ENV ONNXRUNTIME_NODE_INSTALL='));
    expect(install).toBe('ENV ONNXRUNTIME_NODE_INSTALL=skip');
  });

  it('builds on a supported Node LTS, runs npm ci with the project .npmrc, labels the image (OCI)', () => {
    const node = /ARG NODE_IMAGE=node:(\d+)\.\d+\.\d+-[a-z]+-slim/.exec(readFileSync(join(REPO, 'deploy', file), 'utf8'));
    // Node 20 reached end of life on 2026-04-30; even majors from 22 on are LTS lines
    expect(Number(node?.[1])).toBeGreaterThanOrEqual(22);
    expect(Number(node?.[1]) % 2).toBe(0);
    const build = stages(file).find((st) => st.lines.some((l) => l.includes('npm ci')));
    const ci = build?.lines.findIndex((l) => l.includes('npm ci')) ?? -1;
    const npmrc = build?.lines.findIndex((l) => /^COPY .*\.npmrc .*\.\/$/.test(l)) ?? -1;
    expect(npmrc).toBeGreaterThanOrEqual(0);
    expect(npmrc).toBeLessThan(ci);
    expect(ignored('.npmrc')).toBe(false);
    const label = stages(file).at(-1)?.lines.find((l) => l.startsWith('LABEL ')) ?? '';
    for (const key of ['title', 'description', 'source', 'licenses', 'version', 'revision', 'base.name']) expect(label, key).toContain(`org.opencontainers.image.${key}=`);
  });
});

describe('deploy/Dockerfile.gpu', () => {
  it('downloads the CUDA provider of the locked onnxruntime-node version and checks its sha256 before use', () => {
    const text = readFileSync(join(REPO, 'deploy', 'Dockerfile.gpu'), 'utf8');
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(/^ARG ORT_VERSION=(\S+)$/m.exec(text)?.[1]).toBe(lock.packages['node_modules/onnxruntime-node']?.version);
    // the checksum has no default: a build without it fails instead of trusting the download
    expect(text).toMatch(/^ARG ORT_GPU_NUPKG_SHA256$/m);
    const run = stages('Dockerfile.gpu')[1]?.lines.find((l) => l.includes('curl')) ?? '';
    const at = ['curl --fail', 'sha256sum -c', 'unzip -j'].map((w) => run.indexOf(w));
    expect(at[0]).toBeGreaterThan(0);
    expect(at).toEqual([...at].sort((a, b) => a - b)); // download, then check, then unpack
    expect(run).toContain('test -n "${ORT_GPU_NUPKG_SHA256}"');
    // a value of the wrong shape (a "sha256:" prefix, a SHA-512) fails before the download, saying what is expected
    expect(run.indexOf("grep -Eqx '[0-9a-f]{64}'")).toBeGreaterThan(run.indexOf('test -n'));
    expect(run.indexOf("grep -Eqx '[0-9a-f]{64}'")).toBeLessThan(at[0] ?? 0);
  });
});
