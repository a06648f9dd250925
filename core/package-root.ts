import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest folder above this file with a package.json. The same from the TypeScript
 * sources (vitest) and from dist/ (the CLI), so files outside dist/ (proto/, onnx.proto, models/) are found from both.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the package root (package.json) above the installed files');
    dir = up;
  }
}
