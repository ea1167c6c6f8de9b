// Hosts for the interop tests: a network namespace each, cabled by a veth
// whose outer end (Host.veth) a switch takes as a port, with IPv6 off (no
// router solicitations), a fixed MAC and an IPv4 address; and ping between
// them, counted: once, or in batches for as long as something goes on.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;

export interface Host {
  /** The port number the tests give its veth. */
  n: number;
  ns: string;
  veth: string;
  ip: string;
  mac: string;
}

/** Runs a command inside the host's namespace; resolves with its stdout. */
export const inNs = (h: Host, ...cmd: string[]) => sh('ip', 'netns', 'exec', h.ns, ...cmd);

export async function addHost(h: Host): Promise<void> {
  await sh('ip', 'netns', 'add', h.ns);
  await sh('ip', 'link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
  await sh('sysctl', '-qw', `net.ipv6.conf.${h.veth}.disable_ipv6=1`);
  await sh('ip', 'link', 'set', h.veth, 'up');
  await inNs(h, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  await sh('ip', '-n', h.ns, 'link', 'set', 'eth0', 'address', h.mac);
  await sh('ip', '-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
  await sh('ip', '-n', h.ns, 'link', 'set', 'eth0', 'up');
  await sh('ip', '-n', h.ns, 'link', 'set', 'lo', 'up');
}

/** Removes the namespace and the veth, whatever of them exists. */
export async function removeHost(h: Host): Promise<void> {
  await sh('ip', 'netns', 'del', h.ns).catch(() => undefined);
  await sh('ip', 'link', 'del', h.veth).catch(() => undefined);
}

/** Pings with these options; how many were sent and answered (ping exits 1 when replies are missing). */
export async function ping(from: Host, to: Host, ...opts: string[]): Promise<{ sent: number; received: number }> {
  let out: string;
  try {
    out = await inNs(from, 'ping', '-n', '-q', ...opts, to.ip);
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? String(e);
  }
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`ping ${from.ip} -> ${to.ip}: ${out}`);
  return { sent: +m[1], received: +m[2] };
}

/**
 * Pings in batches of `count` (`-i interval`) until `done()` says so after a batch; the totals. Each batch
 * waits for its last replies, so what is counted lost was lost, not cut off.
 */
export async function pingUntil(from: Host, to: Host, done: () => boolean, count = 100, interval = '0.01'): Promise<{ sent: number; received: number }> {
  const total = { sent: 0, received: 0 };
  do {
    const r = await ping(from, to, '-c', String(count), '-i', interval, '-W', '2');
    total.sent += r.sent;
    total.received += r.received;
  } while (!done());
  return total;
}
