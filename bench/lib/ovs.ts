// An Open vSwitch of the benchmark's own: an ovsdb-server and an ovs-vswitchd
// in a directory it is given (without ovs-ctl's --mlockall, but at its nice
// -10, the nice tsof-switch's datapath thread runs at), so that what it holds
// and how much memory it grows by are the benchmark's alone: the system's
// ovs-vswitchd serves every other session's bridges, and one netdev datapath
// is shared by all of its bridges. It sets OVS_RUNDIR for this process, so
// ovs-vsctl, ovs-appctl and the bridges' management sockets (DIR/BRIDGE.mgmt,
// for ovs-ofctl) are in that directory.
//
// ovs-vswitchd runs in a network namespace of its own: a netdev datapath
// makes a tap device named ovs-netdev, and the system's ovs-vswitchd, when it
// runs, has that name in the root namespace ("creating tap device failed:
// Device or resource busy", and no bridge). An interface becomes a port of
// this switch once it is moved into that namespace (PrivateOvs.netns).

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quiet, sh } from './run.ts';

export interface PrivateOvs {
  /** The network namespace ovs-vswitchd runs in. */
  netns: string;
  /** ovs-vsctl against this database. */
  vsctl(...args: string[]): string;
  /** ovs-appctl to this ovs-vswitchd. */
  appctl(...args: string[]): string;
  /** The ovs-ofctl target of a bridge: its management socket. */
  target(bridge: string): string;
  /** ovs-vswitchd's process id. */
  pid(): number;
}

const daemonPid = (dir: string, daemon: string): number => Number(readFileSync(join(dir, `${daemon}.pid`), 'utf8'));

/**
 * Stops the daemons startPrivateOvs(dir, netns) started and removes the namespace (with any interface still in
 * it), as far as it got; the directory is the caller's to remove.
 */
export function stopPrivateOvs(dir: string, netns: string): void {
  for (const daemon of ['ovs-vswitchd', 'ovsdb-server'])
    try {
      process.kill(daemonPid(dir, daemon), 'SIGTERM');
    } catch {
      // not started, or gone
    }
  quiet('ip', 'netns', 'del', netns);
}

/** Starts ovsdb-server, and ovs-vswitchd in a new network namespace netns, in dir (made here), on a fresh database. */
export function startPrivateOvs(dir: string, netns: string): PrivateOvs {
  mkdirSync(dir);
  process.env.OVS_RUNDIR = dir;
  sh('ip', 'netns', 'add', netns);
  // Interfaces moved in keep IPv6 off (no router solicitations).
  sh('ip', 'netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
  const db = `unix:${join(dir, 'db.sock')}`;
  const daemonArgs = (daemon: string) => [`--pidfile=${join(dir, `${daemon}.pid`)}`, `--unixctl=${join(dir, `${daemon}.ctl`)}`,
    `--log-file=${join(dir, `${daemon}.log`)}`, '--detach', '--no-chdir'];
  sh('ovsdb-tool', 'create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema');
  sh('ovsdb-server', join(dir, 'conf.db'), `--remote=p${db}`, ...daemonArgs('ovsdb-server'));
  sh('ovs-vsctl', `--db=${db}`, '--no-wait', 'init');
  sh('ip', 'netns', 'exec', netns, 'nice', '-n', '-10', 'ovs-vswitchd', db, ...daemonArgs('ovs-vswitchd'));
  return {
    netns,
    vsctl: (...args) => sh('ovs-vsctl', `--db=${db}`, '--timeout=10', ...args),
    appctl: (...args) => sh('ovs-appctl', '-t', join(dir, 'ovs-vswitchd.ctl'), ...args),
    target: (bridge) => `unix:${join(dir, `${bridge}.mgmt`)}`,
    pid: () => daemonPid(dir, 'ovs-vswitchd'),
  };
}
