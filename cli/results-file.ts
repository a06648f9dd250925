import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchReport } from '../coordinator/result.js';
import { BadFileError } from '../core/errors.js';

/** One line of results.jsonl: one prompt's result, as in the search report. */
export type PromptLine = SearchReport['prompts'][number];

/**
 * `--out DIR/results.jsonl`: exactly one line per prompt, appended and fsynced as each prompt finishes. Opened
 * again by a rerun with the same --out, it says which prompts are done (so they are not searched or written
 * twice); a last line cut short by a killed process is dropped.
 */
export class ResultsFile {
  private readonly lines = new Map<number, PromptLine>();
  private readonly fd: number;

  private constructor(readonly path: string) {
    const buf = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    let good = 0;
    for (let end = buf.indexOf(10); end >= 0; end = buf.indexOf(10, good)) {
      try {
        const p = JSON.parse(buf.toString('utf8', good, end)) as PromptLine;
        this.lines.set(p.prompt, p);
      } catch (err) {
        throw new BadFileError(path, `line ${this.lines.size + 1} is not a result line`, { cause: err });
      }
      good = end + 1;
    }
    this.fd = openSync(path, 'a');
    if (good < buf.length) ftruncateSync(this.fd, good); // a last line cut short by a killed process
  }

  static open(dir: string): ResultsFile {
    mkdirSync(dir, { recursive: true });
    return new ResultsFile(join(dir, 'results.jsonl'));
  }

  has(prompt: number): boolean {
    return this.lines.has(prompt);
  }

  get(prompt: number): PromptLine | undefined {
    return this.lines.get(prompt);
  }

  /** Appends one prompt's line and fsyncs; a prompt already written is skipped. */
  append(line: PromptLine): void {
    if (this.lines.has(line.prompt)) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
    this.lines.set(line.prompt, line);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * `--out DIR/images/<prompt>.png`: a prompt's winner, written as the prompt finishes (`-sheet` suffix: its
 * contact sheet, with --contact-sheets). Written to a temporary name, fsynced, then renamed: a killed process
 * leaves a whole picture or none, never half of one.
 */
export function writePromptImage(dir: string, prompt: number, png: Uint8Array, suffix = ''): string {
  const folder = join(dir, 'images');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${prompt}${suffix}.png`);
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, png);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}
