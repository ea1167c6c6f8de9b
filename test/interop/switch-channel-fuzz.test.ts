// tsof-switch's OpenFlow channel fuzzed over real TCP (scripts/channel-fuzz.ts):
// the committed regression corpus, then 20k random and mutated messages, each
// with a barrier, on one connection to the passive listener. The connection
// lives through all of it, every message the channel judges gets exactly the
// codec's OFPT_ERROR, the switch sends nothing that does not decode, and it
// forwards between two hosts afterwards. Needs root; names are unique per run.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzChannel } from '../../scripts/channel-fuzz.ts';
import { Daemon, freePort } from '../support/daemon.ts';
import { addHost, ping, removeHost, type Host } from '../support/hosts.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const id = randomBytes(2).toString('hex');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tscf-${id}-h${n}`, veth: `tscf${id}h${n}`, ip: `198.18.8.${n}`, mac: `02:00:00:00:08:0${n}` }));
const [h1, h2] = hosts;
const corpus = readFileSync(join(ROOT, 'test/fixtures/channel-fuzz/corpus.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => Buffer.from(l, 'hex'));

describe('tsof-switch channel fuzz', () => {
  let sw: Daemon;
  let listen: number;

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'iproute2', 'iputils-ping', 'openvswitch-common'], { stdio: 'inherit' });
    for (const h of hosts) await addHost(h);
    listen = await freePort();
    sw = new Daemon('tsof-switch', process.execPath, [
      join(ROOT, 'bin/tsof-switch.js'),
      '--dpid', `0xf022${id}`,
      ...hosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      '--listen', `ptcp:${listen}:127.0.0.1`,
      '--fail-mode', 'secure',
      '--ctl', join(tmpdir(), `tscf${id}.ctl`),
      '--json',
    ]);
    await sw.waitLog('tsof-switch started');
  });

  afterAll(async () => {
    if (sw && !sw.running) console.log(`tsof-switch exited:\n${sw.tail(40)}`);
    await sw?.stop();
    for (const h of hosts) await removeHost(h);
  });

  it('replays the regression corpus', async () => {
    expect(corpus.length).toBeGreaterThan(30);
    const r = await fuzzChannel({ host: '127.0.0.1', port: listen, count: 0, seed: 0, messages: corpus });
    expect(r.failures).toEqual([]);
    expect(r.sent).toBe(corpus.length);
  });

  it('20k random and mutated messages: the codec\'s errors, the connection kept, forwarding after', async () => {
    const seed = Number(process.env.CHANNEL_FUZZ_SEED ?? Date.now() % 0x7fffffff);
    const r = await fuzzChannel({ host: '127.0.0.1', port: listen, count: 20_000, seed });
    console.log('channel fuzz:', JSON.stringify({ seed, sent: r.sent, agreed: r.agreed, datapathDiffers: r.datapathDiffers, datapathAccepted: r.datapathAccepted, seconds: r.seconds }));
    expect(r.failures, `seed ${seed}`).toEqual([]);
    expect(r.undecodable).toBe(0);
    expect(r.sent).toBe(20_000);
    expect(sw.running).toBe(true);
    // The fuzz may have deleted or added any flow: the switch still forwards by the flows it is given now.
    const ofctl = (...a: string[]) => run('ovs-ofctl', ['-O', 'OpenFlow13', ...a], { encoding: 'utf8' });
    await ofctl('del-flows', `tcp:127.0.0.1:${listen}`);
    await ofctl('add-flow', `tcp:127.0.0.1:${listen}`, 'priority=10,in_port=1,actions=output:2');
    await ofctl('add-flow', `tcp:127.0.0.1:${listen}`, 'priority=10,in_port=2,actions=output:1');
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });
  }, 120_000);
});
