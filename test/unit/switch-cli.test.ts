// tsof-switch's command line: each bad flag or argument is refused with exit
// status 2 and a message that names it and says why; targets parse as
// ovs-vsctl writes them.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatTarget, parseTarget } from '../../src/switch/index.ts';

const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, ['bin/tsof-switch.js', ...args], { encoding: 'utf8' });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

describe('tsof-switch flags', () => {
  it.each([
    [['--dpid', '0xZZ'], '--dpid must be up to 16 hex digits, got "0xZZ"'],
    [['--dpid', '1', '--port', 'eth0=0'], '--port eth0=0: port numbers are 1 to 4294967040'],
    [['--dpid', '1', '--port', 'a/b'], '--port takes IFACE or IFACE=PORT'],
    [['--dpid', '1', '--controller', 'udp:1.2.3.4'], '--controller "udp:1.2.3.4": a target is tcp:HOST[:PORT]'],
    [['--dpid', '1', '--controller', 'tcp:1.2.3.4:99999'], '"99999" is not a TCP port'],
    [['--dpid', '1', '--listen', 'tcp:1.2.3.4'], '--listen takes ptcp: or pssl: targets, got "tcp:1.2.3.4"'],
    [['--dpid', '1', '--listen', 'ptcp:6634:not-an-ip'], '"not-an-ip" is not an IP address'],
    [['--dpid', '1', '--fail-mode', 'open'], '--fail-mode must be secure or standalone, got "open"'],
    [['--dpid', '1', '--controller', 'ssl:1.2.3.4'], 'ssl: and pssl: targets need --private-key, --certificate and --ca-cert'],
    [['--dpid', '1', '--private-key', 'k.pem'], '--private-key, --certificate and --ca-cert go together'],
    [['--dpid', '1', '--inactivity-probe', '10'], '--inactivity-probe must be at least 100 ms, got 10'],
    [['--dpid', '1', '--log-level', 'loud'], '--log-level must be one of'],
    [['--dpid', '1', '--metrics', 'localhost'], '--metrics takes HOST:PORT or PORT (127.0.0.1:9464, [::1]:9464, 9464), got "localhost"'],
    [['--dpid', '1', '--metrics', '127.0.0.1:70000'], '--metrics takes HOST:PORT or PORT'],
    [['--dpid', '1', '--datapath-nice=-21'], '--datapath-nice must be a whole number from -20 to 19, got "-21"'],
    [['--dpid', '1', '--datapath-nice', 'high'], '--datapath-nice must be a whole number from -20 to 19, got "high"'],
    [['--dpid', '1', '--bogus'], "Unknown option '--bogus'"],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['add-port', 'x'], 'add-port needs --ctl PATH, --name NAME or --dpid ID'],
    [['--dpid', '1', '--name', 'br/0'], '--name must start with a letter'],
    [[], 'give --dpid, or a --port to take the datapath id from'],
  ])('%j', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: tsof-switch');
  });
});

describe('targets', () => {
  it.each([
    ['tcp:127.0.0.1', { kind: 'tcp', host: '127.0.0.1', port: 6653 }, 'tcp:127.0.0.1:6653'],
    ['ssl:[::1]:6634', { kind: 'ssl', host: '::1', port: 6634 }, 'ssl:[::1]:6634'],
    ['ptcp:', { kind: 'ptcp', host: undefined, port: 6653 }, 'ptcp:6653'],
    ['ptcp:6634:127.0.0.1', { kind: 'ptcp', host: '127.0.0.1', port: 6634 }, 'ptcp:6634:127.0.0.1'],
    ['pssl:0:[::1]', { kind: 'pssl', host: '::1', port: 0 }, 'pssl:0:[::1]'],
  ])('%s', (text, target, printed) => {
    expect(parseTarget(text)).toEqual(target);
    expect(formatTarget(parseTarget(text))).toBe(printed);
  });
});
