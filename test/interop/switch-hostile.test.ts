// tsof-switch under hostile clients on its passive listener: hundreds of
// connections that send garbage, promise a long message and go silent, flood
// echo requests without reading the replies, or reset mid-message; meanwhile
// its controller (the SDK, in-process) keeps it and hosts in namespaces ping
// over the flows the controller installed. Afterwards: no ping lost, a barrier
// round trip to the controller, the switch's RSS bounded, every hostile
// connection closed or refused, and at most a few log lines for each (no line
// per message or byte). Needs root; names are unique per run and only they are removed.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, Controller, flowMatch, flowMod, type SwitchHandle } from '../../src/controller/index.ts';
import { encodeMessage, OFP_VERSION, type Message } from '../../src/openflow/codec/index.ts';
import { Daemon, eventually, freePort, sleep } from '../support/daemon.ts';
import { addHost, ping, removeHost, type Host } from '../support/hosts.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const id = randomBytes(2).toString('hex');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tshc-${id}-h${n}`, veth: `tshc${id}h${n}`, ip: `198.18.7.${n}`, mac: `02:00:00:00:07:0${n}` }));
const [h1, h2] = hosts;
/** Hostile connections of each kind. */
const EACH = 100;
/**
 * A third of the 300 hostile connections that stay 2 probe intervals (garbage, promise and flood ones): some are
 * refused even when the switch, busy with the floods, accepts them slowly (at 250, a run saw all 400 accepted in turn).
 */
const MAX_CONNECTIONS = 100;

const hello = Buffer.from(encodeMessage({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] } as Message));
/** An echo request with 1000 bytes of data: a flood of these asks for as many bytes back. */
const echo = Buffer.from(encodeMessage({ type: 'echo_request', xid: 7, data: new Uint8Array(1000) } as Message));

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/** Opens a connection and plays one hostile part on it; resolves with its local port once it has played it. */
function hostile(port: number, kind: 'garbage' | 'promise' | 'flood' | 'reset', sockets: Socket[]): Promise<number> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('close', () => resolve(s.localPort ?? 0));
    s.once('connect', () => {
      const local = s.localPort!;
      if (kind === 'garbage') s.write(randomBytes(16 * 1024));
      else if (kind === 'promise') {
        // A header that says 65535 bytes, then 10 of them, then nothing.
        const partial = Buffer.alloc(18);
        partial.set([OFP_VERSION, 2, 0xff, 0xff]);
        s.write(Buffer.concat([hello, partial]));
      } else if (kind === 'flood') {
        // Echo requests as fast as the switch takes them; replies are never read.
        s.pause();
        const flood = Buffer.concat(Array.from({ length: 64 }, () => echo));
        s.write(hello);
        const more = () => {
          while (!s.destroyed && s.write(flood));
        };
        s.on('drain', more);
        more();
      } else {
        s.write(Buffer.concat([hello, echo.subarray(0, 500)]), () => s.resetAndDestroy());
      }
      resolve(local);
    });
  });
}

describe('tsof-switch with hostile clients on its listener', () => {
  let sw: Daemon;
  let controller: Controller;
  let handle: SwitchHandle;
  let listen: number;

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'iproute2', 'iputils-ping'], { stdio: 'inherit' });
    for (const h of hosts) await addHost(h);
    const ofPort = await freePort();
    listen = await freePort();
    controller = new Controller({ host: '127.0.0.1', port: ofPort, logger: pino({ level: 'silent' }) });
    const up = new Promise<SwitchHandle>((resolve) => controller.once('switch', resolve));
    await controller.listen();
    sw = new Daemon('tsof-switch', process.execPath, [
      join(ROOT, 'bin/tsof-switch.js'),
      '--dpid', `0x7e57${id}`,
      ...hosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      '--controller', `tcp:127.0.0.1:${ofPort}`,
      '--listen', `ptcp:${listen}:127.0.0.1`,
      '--fail-mode', 'secure',
      '--inactivity-probe', '1000',
      '--max-connections', String(MAX_CONNECTIONS),
      '--ctl', join(tmpdir(), `tshc${id}.ctl`),
      '--json',
    ]);
    await sw.waitLog('tsof-switch started');
    handle = await up;
    await handle.confirm([
      flowMod({ priority: 10, match: flowMatch().inPort(1), actions: [act.output(2)] }),
      flowMod({ priority: 10, match: flowMatch().inPort(2), actions: [act.output(1)] }),
    ]);
  });

  afterAll(async () => {
    if (sw && !sw.running) console.log(`tsof-switch exited:\n${sw.tail(40)}`);
    await controller?.close();
    await sw?.stop();
    for (const h of hosts) await removeHost(h);
  });

  it('keeps forwarding and serving its controller; bounded memory; a line per hostile connection at most', async () => {
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });
    const pid = sw.proc.pid!;
    const rssBefore = rssKb(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssKb(pid))), 100);
    const sockets: Socket[] = [];
    const linesBefore = sw.lines.length;
    const pinging = ping(h1, h2, '-c', '60', '-i', '0.1', '-W', '2');
    const kinds = ['garbage', 'promise', 'flood', 'reset'] as const;
    const kindOf = new Map<number, string>();
    // The kinds take turns, so that each has connections served as well as refused.
    const locals = await Promise.all(Array.from({ length: EACH }, () => kinds).flat().map(async (k) => {
      const p = await hostile(listen, k, sockets);
      kindOf.set(p, k);
      return p;
    }));
    // While they are at it: the controller's connection answers.
    const t0 = Date.now();
    await handle.barrier({ timeout: 5000 });
    const barrierMs = Date.now() - t0;
    const pinged = await pinging;
    // Each hostile connection is refused, or closed by the switch within 2 probe intervals (no HELLO, an unfinished
    // message, unread replies); a paused flooder does not see it, so the switch's log tells.
    const records = () => sw.lines.slice(linesBefore).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : []));
    const remotePort = (r: Record<string, unknown>) => (typeof r.remote === 'string' ? Number(r.remote.split(':').pop()) : NaN);
    const ended = (r: Record<string, unknown>) => r.msg === 'too many connections: refused' || r.msg === 'OpenFlow connection closed';
    try {
      // A connection reset before it was accepted has no remote address left to log: it counts without one.
      await eventually(() => records().filter((r) => ended(r) && (locals.includes(remotePort(r)) || Number.isNaN(remotePort(r)))).length >= locals.length, 'every hostile connection closed or refused', 30_000);
    } catch (e) {
      const seen = new Set(records().filter(ended).map(remotePort));
      const missing = locals.filter((p) => !seen.has(p));
      throw new Error(`${(e as Error).message}: ${missing.length} missing, ${missing.slice(0, 10).map((p) => `${p} ${kindOf.get(p)}: ${records().filter((r) => remotePort(r) === p).map((r) => r.msg).join('; ')}`).join('\n')}`);
    } finally {
      clearInterval(sampler);
      for (const s of sockets) s.destroy();
    }
    await sleep(500);
    const rssAfter = rssKb(pid);
    const log = records();
    const perRemote = new Map<number, Record<string, unknown>[]>();
    for (const r of log) {
      const port = remotePort(r);
      if (locals.includes(port)) perRemote.set(port, [...(perRemote.get(port) ?? []), r]);
    }
    const refused = log.filter((r) => r.msg === 'too many connections: refused').length;
    const closed = log.filter((r) => r.msg === 'OpenFlow connection closed' && (locals.includes(remotePort(r)) || Number.isNaN(remotePort(r))));
    const reasons = new Map<string, number>();
    for (const r of closed) {
      const why = String(r.reason).replace(/\d+/g, 'N');
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
    const result = {
      connections: locals.length,
      refused,
      closed: closed.length,
      reasons: Object.fromEntries(reasons),
      pinged,
      barrierMs,
      rssMb: { before: rssBefore >> 10, peak: rssPeak >> 10, after: rssAfter >> 10 },
      logLines: log.length,
      mostLinesForOneConnection: Math.max(...[...perRemote.values()].map((l) => l.length)),
    };
    console.log('hostile clients:', JSON.stringify(result, null, 2));

    expect(pinged.received).toBe(pinged.sent);
    expect(controller.switches.size).toBe(1);
    // Every hostile connection was served and closed, or refused: one or the other, logged once.
    expect(refused + closed.length).toBe(locals.length);
    expect(refused).toBeGreaterThan(0);
    // Up (for those that said HELLO), their first malformed message, closed: three lines at most, whatever they sent.
    expect(result.mostLinesForOneConnection).toBeLessThanOrEqual(3);
    // Flooders are dropped for not reading, silent promisers for their unfinished message.
    expect(reasons.get('the peer does not read: N bytes wait to go to it, its input unread for N ms')).toBeGreaterThan(0);
    expect([...reasons.keys()].some((r) => r.startsWith('a message unfinished'))).toBe(true);
    // 100 flooders each held to 256 KiB of unsent replies, and their input: far from unbounded.
    expect(rssPeak - rssBefore).toBeLessThan(200 * 1024);
    // And the controller is still served: through the handle it has now. On a starved machine the test process (which
    // is the controller, and drives the 400 hostile sockets too) can miss the 2 s echo deadline once; the switch
    // then reconnects within its 1 s backoff, and says why in its log.
    const drops = log.filter((r) => r.msg === 'controller connection down');
    if (drops.length) console.log('controller connection dropped:', JSON.stringify(drops));
    expect(drops.length).toBeLessThanOrEqual(1);
    await eventually(() => controller.switches.size === 1, 'the controller has the switch', 5000);
    await [...controller.switches.values()][0]!.barrier({ timeout: 2000 });
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });
  }, 120_000);
});
