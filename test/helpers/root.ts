// The project directory, found from a module's own location: the nearest directory above it that holds
// package.json. The same for test/ files run by vitest (through tsx) and for their tsc build in
// .bench-build/ that `npm run fuzz` and `npm run soak` run.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'fixtures'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no project directory (package.json and fixtures/) above ${from}`);
    dir = up;
  }
}
