// Shared by the tests that run tern speakers in-process: a bounded poll, and speakers that are stopped
// after each test whatever happens.

import { afterEach } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { Speaker } from '../../src/speaker/speaker.js';

/** Polls `fn` until it returns something other than undefined/false; throws naming `what` on timeout. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Registers an afterEach that stops every speaker started through the returned function. */
export function useSpeakers(): { start: (yaml: string) => Promise<Speaker>; readonly running: Speaker[] } {
  const running: Speaker[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('test over')));
  });
  return {
    running,
    async start(yaml: string): Promise<Speaker> {
      const sp = new Speaker(parseConfig(yaml, 'test.yaml'), silentLogger());
      running.push(sp);
      await sp.start();
      return sp;
    },
  };
}
