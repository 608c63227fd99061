// A small TCP echo server and clients for the end-to-end tests, run inside a pod's namespace with
// `ip netns exec <pod> node test/e2e/echo.mjs <mode> ...` (plain JavaScript: Node 20 runs it as is).
//
//   server <address> <port>            echo every byte back; prints `listening <address> <port>`
//   once <port> <timeoutMs> <address>...  connect to each, send a token, expect it back; a line per address
//                                      (`ok <address>` or `FAIL <address>: <reason>`), exit 0 when all came back
//   stream <address> <port> <everyMs>  one connection kept open: a numbered line every <everyMs>, each echo
//                                      checked; on SIGTERM prints `{"sent","echoed","maxGapMs"}` and exits 0;
//                                      a close, an error or an echo missing for 2 s: the reason, exit 1
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';

const [mode, address, portText, extra] = process.argv.slice(2);
const port = Number(portText);

function fail(why) {
  process.stdout.write(`FAIL ${why}\n`);
  process.exit(1);
}

if (mode === 'server') {
  const server = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    sock.pipe(sock);
  });
  server.on('error', (e) => fail(`listen: ${e.message}`));
  server.listen(port, address, () => process.stdout.write(`listening ${address} ${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (mode === 'once') {
  // once <port> <timeoutMs> <address>...: every address at the same time; one line per address
  const timeoutMs = Number(portText);
  const targets = process.argv.slice(5);
  const wait = (addr) =>
    new Promise((resolve) => {
      const token = `${randomBytes(8).toString('hex')}\n`;
      const sock = createConnection({ host: addr, port: Number(address) });
      const done = (why) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(why);
      };
      const timer = setTimeout(() => done(`no echo within ${timeoutMs} ms`), timeoutMs);
      let got = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(token));
      sock.on('data', (d) => {
        got += d;
        if (got.length >= token.length)
          done(got === token ? undefined : `echo ${JSON.stringify(got)} is not the token`);
      });
      sock.on('error', (e) => done(e.message));
    });
  const results = await Promise.all(targets.map(wait));
  let bad = 0;
  for (const [i, why] of results.entries()) {
    if (why !== undefined) bad++;
    process.stdout.write(
      `${why === undefined ? 'ok' : 'FAIL'} ${targets[i]}${why === undefined ? '' : `: ${why}`}\n`,
    );
  }
  process.exit(bad === 0 ? 0 : 1);
} else if (mode === 'stream') {
  const everyMs = Number(extra ?? 100);
  const sock = createConnection({ host: address, port });
  sock.setEncoding('utf8');
  let sent = 0;
  let echoed = 0;
  let buffered = '';
  let lastEcho = Date.now();
  let maxGapMs = 0;
  let connected = false;
  sock.on('connect', () => {
    connected = true;
    lastEcho = Date.now();
    process.stdout.write(`connected ${address} ${port}\n`);
    setInterval(() => {
      sock.write(`${sent++}\n`);
      if (Date.now() - lastEcho > 2000 && echoed < sent - 1) fail(`no echo for ${Date.now() - lastEcho} ms`);
    }, everyMs);
  });
  sock.on('data', (d) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (line !== String(echoed)) fail(`echo ${JSON.stringify(line)} where ${echoed} was due`);
      echoed++;
      const now = Date.now();
      maxGapMs = Math.max(maxGapMs, now - lastEcho);
      lastEcho = now;
    }
  });
  sock.on('error', (e) => fail(`${address}:${port}: ${e.message}`));
  sock.on('close', () => fail('connection closed'));
  process.on('SIGTERM', () => {
    if (!connected) fail('never connected');
    process.stdout.write(`${JSON.stringify({ sent, echoed, maxGapMs })}\n`);
    process.exit(0);
  });
} else {
  fail(`unknown mode ${mode}: server, once or stream`);
}
