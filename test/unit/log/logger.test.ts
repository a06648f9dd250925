import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logSettings } from '../../../core/log/logger.js';
import { prettyLine } from '../../../core/log/pretty.js';

/** A destination that keeps what was written, with isTTY as a terminal or a pipe would report it. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
  return Object.assign(w, { isTTY, text: () => chunks.join('') });
}

describe('structured logs', () => {
  it('write one JSON object per line when the destination is not a terminal', () => {
    const out = sink(false);
    const log = createLogger({ process: 'coordinator', destination: out, level: 'info' });
    log.info({ job: 'j1', prompt: 3 }, 'stage done');
    log.child({ worker: 'w0' }).warn('worker lost');
    log.debug('not at info');
    const [a, b, c] = out.text().split('\n');
    expect(c).toBe('');
    expect(JSON.parse(a ?? '')).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), process: 'coordinator', job: 'j1', prompt: 3, msg: 'stage done' });
    expect(JSON.parse(b ?? '')).toMatchObject({ level: 'warn', process: 'coordinator', worker: 'w0', msg: 'worker lost' });
  });

  it('print short human lines on a terminal', () => {
    const out = sink(true);
    createLogger({ process: 'worker', destination: out }).info({ worker: 'w0', job: 'j1' }, 'batch failed');
    expect(out.text()).toMatch(/^\d\d:\d\d:\d\d INFO {2}worker worker=w0 job=j1 {2}batch failed\n$/);
    expect(prettyLine('{"level":"error","time":"2026-11-30T12:03:04.000Z","process":"coordinator","err":{"message":"x"},"msg":"put failed"}')).toBe(
      '12:03:04 ERROR coordinator err={"message":"x"}  put failed\n',
    );
    expect(prettyLine('not json')).toBe('not json\n');
  });

  it('read TTSNAP_LOG_LEVEL and TTSNAP_LOG_FORMAT, naming the variable on a bad value', () => {
    expect(logSettings({ TTSNAP_LOG_LEVEL: 'debug', TTSNAP_LOG_FORMAT: 'json' })).toEqual({ level: 'debug', format: 'json' });
    expect(logSettings({})).toEqual({});
    expect(() => logSettings({ TTSNAP_LOG_LEVEL: 'loud' })).toThrow("TTSNAP_LOG_LEVEL: got 'loud'; allowed: trace | debug | info | warn | error | fatal | silent");
  });
});
