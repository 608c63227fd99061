// The package entry point works after `npm run build` (npm ci runs it through `prepare`).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIST = new URL('../../dist/index.js', import.meta.url);

describe("import from 'tern-bgp'", () => {
  it('exposes the codecs from the built package', async () => {
    expect(existsSync(DIST), 'dist/index.js is missing: run `npm run build` (npm ci does it)').toBe(true);
    // through the package name, as a user imports it (resolved by package.json "exports" to dist/)
    const name = 'tern-bgp';
    const lib = (await import(name)) as typeof import('../../src/index.js');
    const keepalive = lib.encodeMessage({ type: 'keepalive' });
    expect(keepalive.length).toBe(19);
    const framer = new lib.Framer();
    const [msg] = framer.push(keepalive);
    expect(lib.decodeMessage(msg!)).toEqual({ type: 'keepalive' });
    expect(lib.messageToJson(lib.decodeMessage(msg!))).toEqual({ type: 'keepalive' });
    expect(typeof lib.packAnnouncements).toBe('function');
  });
});
