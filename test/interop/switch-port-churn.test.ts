// tsof-switch with ports coming and going under traffic: rounds of veths (30
// a round, or PORT_CHURN_PORTS; 3 rounds, or PORT_CHURN_ROUNDS), each added to
// the running switch through its control socket (what `tsof-switch --ctl PATH
// add-port IF` sends) and then taken away, half by del-port, half by deleting
// the interface under the switch; meanwhile two hosts ping every 10 ms through
// flows its controller (the SDK, in-process) installed between the two ports
// that stay. A first round warms the process up; over the rounds after it:
// not one ping lost, the controller hears one OFPPR_ADD and then one
// OFPPR_DELETE for each port and nothing else of them, the switch's open file
// descriptors are as many as before and its resident memory grows by less
// than a bound. Needs root; names are unique per run and only they are removed.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, OFPPR, type SwitchHandle } from '../../src/controller/index.ts';
import { controlRequest, type ControlReply } from '../../src/switch/index.ts';
import { Daemon, eventually, exec, freePort } from '../support/daemon.ts';
import { addHost, pingUntil, removeHost, type Host } from '../support/hosts.ts';
import { patchFlowMods } from '../support/patch-app.ts';
import { runSwitch, silent } from '../support/switch.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const id = randomBytes(2).toString('hex');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tspc-${id}-h${n}`, veth: `tspc${id}h${n}`, ip: `198.18.11.${n}`, mac: `02:00:00:00:11:0${n}` }));
const [h1, h2] = hosts;
const ctl = join(tmpdir(), `tspc${id}.ctl`);
/** A whole number from the environment, or the default; anything else is refused by name. */
function setting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(text)) throw new Error(`${name} must be a whole number above 0, got "${text}"`);
  return +text;
}
/**
 * Ports a round, and rounds measured after the one that warms up. The quick form keeps the file near a minute
 * on a busy machine (a port's add and delete take 0.3 s there); the long form is PORT_CHURN_PORTS=100
 * PORT_CHURN_ROUNDS=3. An even number of ports: half go each way.
 */
const PORTS = 2 * Math.ceil(setting('PORT_CHURN_PORTS', 30) / 2);
const ROUNDS = setting('PORT_CHURN_ROUNDS', 3);
/** What the switch's resident memory may grow by over the measured rounds (KiB). */
const RSS_BOUND_KB = 32 * 1024;

/** This round's interfaces: the switch's ends (rRpI); their peers are rRqI. */
const names = (round: number) => Array.from({ length: PORTS }, (_, i) => `tspc${id}r${round}p${i}`);
const peer = (name: string) => name.replace(/p(\d+)$/, 'q$1');

/** Runs `ip -batch -` with these commands, one a line. */
async function ipBatch(lines: string[]): Promise<void> {
  const r = await exec(ROOT, 'ip', ['-batch', '-'], lines.join('\n') + '\n');
  if (r.code !== 0) throw new Error(`ip -batch: ${r.stderr}`);
}

async function control(req: Parameters<typeof controlRequest>[1]): Promise<ControlReply & { ok: true }> {
  const reply = await controlRequest(ctl, req);
  if (!reply.ok) throw new Error(`${req.cmd}: ${reply.error}`);
  return reply;
}

const portNames = async () => (await control({ cmd: 'list-ports' })).ports!.map((p) => p.name).sort();

/** What the switch holds: open file descriptors and resident memory (KiB). */
function holdings(pid: number): { fds: number; rssKb: number } {
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKb: Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) };
}

/** One round: PORTS veths made and added as ports, then half removed by del-port and half deleted under the switch. */
async function churn(round: number): Promise<void> {
  const ifs = names(round);
  await ipBatch(ifs.map((n) => `link add ${n} type veth peer name ${peer(n)}`));
  for (const n of ifs) await control({ cmd: 'add-port', ifname: n });
  const [byCtl, byKernel] = [ifs.slice(0, PORTS / 2), ifs.slice(PORTS / 2)];
  for (const n of byCtl) await control({ cmd: 'del-port', port: n });
  await ipBatch(byKernel.map((n) => `link del ${n}`));
  await eventually(async () => (await portNames()).length === 2, `round ${round}: the deleted interfaces' ports gone`, 30_000);
  await ipBatch(byCtl.map((n) => `link del ${n}`));
}

describe('tsof-switch with ports added and removed under traffic', () => {
  let sw: Daemon;
  let controller: Controller;
  let handle: SwitchHandle;
  /** Each port's status reasons as the controller heard them, by interface name. */
  const heard = new Map<string, number[]>();

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'iproute2', 'iputils-ping'], { stdio: 'inherit' });
    for (const h of hosts) await addHost(h);
    const ofPort = await freePort();
    controller = new Controller({ host: '127.0.0.1', port: ofPort, logger: silent });
    const up = new Promise<SwitchHandle>((resolve) => controller.once('switch', resolve));
    controller.on('port_status', (_, msg) => heard.set(msg.desc.name, [...(heard.get(msg.desc.name) ?? []), msg.reason]));
    await controller.listen();
    sw = await runSwitch([
      '--dpid', `0x5c${id}`,
      ...hosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      '--controller', `tcp:127.0.0.1:${ofPort}`,
      '--fail-mode', 'secure',
      '--ctl', ctl,
    ]);
    handle = await up;
    await handle.confirm(patchFlowMods());
  });

  afterAll(async () => {
    if (sw && !sw.running) console.log(`tsof-switch exited:\n${sw.tail(40)}`);
    await controller?.close();
    await sw?.stop();
    for (const h of hosts) await removeHost(h);
    // Whatever a failed round left.
    const left = (await exec(ROOT, 'ip', ['-o', 'link', 'show'])).stdout.match(new RegExp(`tspc${id}r\\d+p\\d+`, 'g')) ?? [];
    if (left.length) await ipBatch([...new Set(left)].map((n) => `link del ${n}`)).catch(() => undefined);
  });

  it(`${ROUNDS} rounds of ${PORTS} ports: no ping lost, ADD then DELETE for each port, no descriptor kept, memory bounded`, async () => {
    const pid = sw.proc.pid!;
    let churning = true;
    const traffic = pingUntil(h1, h2, () => !churning);
    const started = Date.now();
    await churn(0);
    const before = holdings(pid);
    const perRound: { round: number; ms: number; fds: number; rssKb: number }[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const t0 = Date.now();
        await churn(round);
        perRound.push({ round, ms: Date.now() - t0, ...holdings(pid) });
      }
    } finally {
      churning = false;
    }
    const pinged = await traffic;
    const after = holdings(pid);
    const churned = Array.from({ length: ROUNDS + 1 }, (_, r) => names(r)).flat();
    const sequences = new Map<string, number>();
    for (const n of churned) {
      const seq = (heard.get(n) ?? []).map((r) => (r === OFPPR.ADD ? 'ADD' : r === OFPPR.DELETE ? 'DELETE' : 'MODIFY')).join(',');
      sequences.set(seq, (sequences.get(seq) ?? 0) + 1);
    }
    console.log('port churn:', JSON.stringify({ pinged, seconds: (Date.now() - started) / 1000, before, perRound, after, portStatus: Object.fromEntries(sequences) }));

    expect(sw.running).toBe(true);
    expect(await portNames()).toEqual([h1.veth, h2.veth].sort());
    expect(pinged.received).toBe(pinged.sent);
    expect(pinged.sent).toBeGreaterThanOrEqual(100);
    expect(Object.fromEntries(sequences)).toEqual({ 'ADD,DELETE': churned.length });
    expect([...heard.keys()].filter((n) => !churned.includes(n))).toEqual([]);
    expect(after.fds).toBe(before.fds);
    expect(after.rssKb - before.rssKb).toBeLessThan(RSS_BOUND_KB);
    // The controller's connection lived through it: a barrier round trip.
    await handle.barrier({ timeout: 5000 });
  }, 60_000 + (ROUNDS + 1) * PORTS * 1000);
});
