// The `tern` bin's own node options (its `#!/usr/bin/env -S node ...` line) are what the benchmarks'
// daemons are started with, so that they measure what the command runs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shebangNodeArgs } from '../../bench/loadgen/index.js';
import { projectRoot } from '../helpers/root.js';

describe('shebangNodeArgs', () => {
  it("reads the tern bin's V8 option, and nothing from a plain node line", () => {
    const root = projectRoot(import.meta.url);
    const args = shebangNodeArgs(join(root, 'src/cli/main.ts'));
    expect(args).toEqual(['--max-semi-space-size=4']);
    // this node takes them (an unknown V8 option would end every `tern` command at its start)
    const r = spawnSync(process.execPath, [...args, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'tern-shebang-'));
    try {
      writeFileSync(join(dir, 'a.js'), '#!/usr/bin/env node\nconsole.log(1);\n');
      writeFileSync(join(dir, 'b.js'), '#!/usr/bin/env -S node --a=1  --b\n');
      expect(shebangNodeArgs(join(dir, 'a.js'))).toEqual([]);
      expect(shebangNodeArgs(join(dir, 'b.js'))).toEqual(['--a=1', '--b']);
      expect(shebangNodeArgs(join(dir, 'missing.js'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
