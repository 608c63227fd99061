// The control server in-process: what it does with the path it is given (nothing there, a stale or live
// socket, a file, a directory), that stop() removes only its own socket, and how it bounds its clients.

import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { type ControlHandler, ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../helpers/speakers.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-ctl-'));
const servers: ControlServer[] = [];
const clients: Socket[] = [];
let n = 0;

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (): string => join(dir, `s${++n}.ctl`);
const status: ControlHandler = (req) => (req.command === 'show status' ? { pid: 4242 } : { echo: req });

function server(path: string, opts: ControlServerOptions = {}, handler = status): ControlServer {
  const s = new ControlServer(path, handler, silentLogger(), opts);
  servers.push(s);
  return s;
}

function client(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = connect(path);
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

const closed = (c: Socket): Promise<void> =>
  new Promise((resolve) => (c.destroyed ? resolve() : c.once('close', () => resolve())));

describe('ControlServer: the socket path', () => {
  it('listens with mode 0660 and answers requests', async () => {
    const path = fresh();
    await server(path).start();
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o660);
    expect(await controlCall(path, 'show status')).toEqual({ pid: 4242 });
  });

  it('leaves no staging directory beside the socket', async () => {
    const sub = join(dir, 'clean');
    mkdirSync(sub);
    await server(join(sub, 't.ctl')).start();
    expect(readdirSync(sub)).toEqual(['t.ctl']);
  });

  it('refuses a socket another server listens on, naming its pid, and leaves it working', async () => {
    const path = fresh();
    await server(path).start();
    const second = server(path);
    await expect(second.start()).rejects.toThrow(`another tern (pid 4242) is running on ${path}`);
    await second.stop();
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(await controlCall(path, 'show status')).toEqual({ pid: 4242 });
  });

  it('refuses a regular file at the path and keeps it', async () => {
    const path = fresh();
    writeFileSync(path, 'not a socket\n');
    const s = server(path);
    await expect(s.start()).rejects.toThrow(`${path} is a regular file (13 bytes), not a socket`);
    await s.stop();
    expect(readFileSync(path, 'utf8')).toBe('not a socket\n');
  });

  it('refuses a directory at the path and keeps it', async () => {
    const path = fresh();
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    await expect(server(path).start()).rejects.toThrow(`${path} is a directory, not a socket`);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('x');
  });

  it('refuses a symbolic link at the path, even to a live socket, and keeps it', async () => {
    const target = fresh();
    await server(target).start();
    const path = fresh();
    symlinkSync(target, path);
    await expect(server(path).start()).rejects.toThrow(`${path} is a symbolic link, not a socket`);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it('binds in place, still 0660, when a path beside the socket would be too long', async () => {
    // 107 bytes in all with a one-letter name: no room for the private directory beside it
    const deep = join(dir, 'd'.repeat(104 - dir.length));
    mkdirSync(deep);
    const path = join(deep, 's');
    expect(Buffer.byteLength(path)).toBe(107);
    const s = server(path);
    await s.start();
    expect(lstatSync(path).mode & 0o777).toBe(0o660);
    expect(await controlCall(path, 'show status')).toEqual({ pid: 4242 });
    await s.stop();
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });

  it('says when a group does not exist', async () => {
    await expect(server(fresh(), { group: 'no-such-group-tern' }).start()).rejects.toThrow(
      'control.group: there is no group named "no-such-group-tern"',
    );
  });

  it('stop() leaves a file that replaced its socket', async () => {
    const path = fresh();
    const s = server(path);
    await s.start();
    unlinkSync(path);
    writeFileSync(path, 'someone else');
    await s.stop();
    expect(readFileSync(path, 'utf8')).toBe('someone else');
  });

  it('stop() removes its own socket', async () => {
    const path = fresh();
    const s = server(path);
    await s.start();
    await s.stop();
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });
});

describe('ControlServer: clients', () => {
  it('closes an idle client after the timeout', async () => {
    const path = fresh();
    await server(path, { idleTimeoutMs: 200 }).start();
    const c = await client(path);
    const t0 = Date.now();
    await closed(c);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('keeps a client that is busy past the timeout', async () => {
    const path = fresh();
    await server(path, { idleTimeoutMs: 300 }).start();
    const c = await client(path);
    let answers = 0;
    c.on('data', (d: Buffer) => {
      answers += d.toString().split('\n').length - 1;
    });
    for (let i = 0; i < 6; i++) {
      c.write('{"command":"show status"}\n');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.destroyed).toBe(false);
    // the last answer may still be on its way on a busy machine
    await waitFor('six answers', () => answers === 6, 2000);
    expect(c.destroyed).toBe(false);
  });

  it('holds at most maxClients half-open clients; the others are closed at once', async () => {
    const path = fresh();
    const s = server(path, { maxClients: 8, idleTimeoutMs: 60_000 });
    await s.start();
    const many = await Promise.all(Array.from({ length: 40 }, () => client(path)));
    await waitFor('the extra clients closed', () => many.filter((c) => c.destroyed).length === 32, 5000);
    expect(s.clientCount).toBe(8);
    // and it still answers once a place is free
    for (const c of many) c.destroy();
    await waitFor('all gone', () => s.clientCount === 0, 5000);
    expect(await controlCall(path, 'show status')).toEqual({ pid: 4242 });
  });

  it('refuses a request line longer than 64 KiB and closes the client', async () => {
    const path = fresh();
    await server(path).start();
    const c = await client(path);
    let got = '';
    c.on('data', (d: Buffer) => {
      got += d.toString();
    });
    c.on('error', () => {});
    c.write('x'.repeat(70 * 1024));
    await closed(c);
    expect(JSON.parse(got.trim())).toEqual({ version: 1, ok: false, error: 'request too long' });
  });

  it('stops reading pipelined requests while the client does not read the replies', async () => {
    const path = fresh();
    let calls = 0;
    const big = 'y'.repeat(100 * 1024);
    await server(path, {}, () => {
      calls++;
      return big;
    }).start();
    const c = await client(path);
    c.pause();
    c.write('{"command":"x"}\n'.repeat(300));
    await new Promise((r) => setTimeout(r, 500));
    // 1 MiB of replies waiting plus what the kernel buffers: a few dozen, not 300
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(60);
    // reading again lets every request through
    let lines = 0;
    c.on('data', (d: Buffer) => {
      for (const ch of d) if (ch === 10) lines++;
    });
    c.resume();
    await waitFor('300 replies', () => lines === 300, 20_000);
    expect(calls).toBe(300);
  });

  it('an error on one client ends that client only', async () => {
    const path = fresh();
    const logged: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    const s = new ControlServer(
      path,
      (req) => (req.command === 'big' ? 'z'.repeat(8 * 1024 * 1024) : 'small'),
      pino({ level: 'debug' }, sink),
    );
    servers.push(s);
    await s.start();
    const other = await client(path);
    // this one asks for a large reply and goes away: the server's write fails (EPIPE)
    const gone = await client(path);
    gone.write('{"command":"big"}\n');
    gone.destroy();
    await waitFor(
      'the client error logged',
      () => logged.some((l) => l.includes('control client error')),
      5000,
    );
    let reply = '';
    other.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    other.write('{"command":"small"}\n');
    await waitFor('the other client answered', () => reply.includes('\n'), 5000);
    expect(JSON.parse(reply)).toEqual({ version: 1, ok: true, result: 'small' });
  });
});

describe('ControlServer: answers that take time', () => {
  it('answers a request whose result is a promise when it settles, keeping the replies in order', async () => {
    let release: (v: unknown) => void = () => {};
    const handler: ControlHandler = (req) => {
      if (req.command === 'slow') return new Promise((r) => (release = r));
      if (req.command === 'fails') return Promise.reject(new Error('reload refused: peers[0].asn'));
      return { echo: req.command };
    };
    const path = fresh();
    await server(path, {}, handler).start();
    const c = await client(path);
    c.setEncoding('utf8');
    let text = '';
    c.on('data', (d: string) => {
      text += d;
    });
    // three requests in one write: the second and third wait for the first
    c.write('{"command":"slow"}\n{"command":"fast"}\n{"command":"fails"}\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(text).toBe('');
    // another client is not held up by the slow one
    expect(await controlCall(path, 'fast', {}, 1000)).toEqual({ echo: 'fast' });
    expect(text).toBe('');
    release({ done: true });
    await waitFor('three replies', () => text.split('\n').length === 4);
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { version: 1, ok: true, result: { done: true } },
      { version: 1, ok: true, result: { echo: 'fast' } },
      { version: 1, ok: false, error: 'reload refused: peers[0].asn' },
    ]);
  });
});
