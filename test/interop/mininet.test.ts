// tsof-switch in Mininet (mininet/tsof.py): whole networks of tsof-switches
// built by Mininet 2.3 (Debian's mininet) under real controllers.
//
// 1. tsof-controller with examples/learning-switch.ts:
//    - `mn --custom mininet/tsof.py --switch tsof --controller remote,...
//      --topo tree,2 --test pingall`, the command line users type;
//    - linear,4 through Mininet's Python API (test/interop/mininet_net.py):
//      ports named and numbered as Mininet gave them, Mininet's dpids (read
//      with dpctl), pingall with nothing dropped, iperf3 from the first host to
//      the last, a clean stop (each switch exits 0 on SIGTERM, its control
//      socket gone);
//    - tree,2 the same way, plus a host linked to a running switch (attach),
//      reached by ping, then detached.
// 2. os-ken (bench/controller's simple_switch_13): linear,4, pingall.
// 3. The os-ken switch tester through Mininet (scripts/ryu-switch-test.ts
//    --mininet, which runs mininet/ryu_switch_net.py): a handful of its cases
//    against a TsofSwitch cabled to an OVSSwitch tester, every one OK, the
//    target's ports counted the frames, and the network stopped with nothing
//    left.
//
// Mininet's own clean-up (`mn -c`, and `mn` after a failure) deletes every
// OVS bridge and every link named like foo-ethN on the machine, so this file
// must not run beside other test files (see vitest.config.ts), and it never
// runs that clean-up itself: `mn` runs with it turned off, mininet_net.py
// stops only its own network, and after each run whatever is left with its
// names (Mininet's node shells, switches, links) is removed here.
// Controllers listen on free ports (never 6653); mininet_net.py's node names
// carry a prefix unique to the run (tm<hex><n>).

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, eventually, exec, freePort } from '../support/daemon.ts';
import { runTesterWaitsAgain, type TesterResults } from '../support/ryu-tester.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (path: string) => join(ROOT, path);
const PY = '/usr/bin/python3';
const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;

/** /usr/bin/mn with its global clean-up on failure turned off: a failed run here must not touch others' bridges. */
const MN_WITHOUT_CLEANUP = [
  '-c',
  "import mininet.clean, runpy; mininet.clean.cleanup = lambda: print('(mn: global clean-up skipped)'); runpy.run_path('/usr/bin/mn', run_name='__main__')",
];

/** What mininet_net.py measured (its RESULT line). */
interface NetResult {
  connected: boolean;
  startSeconds: number;
  connectSeconds: number;
  ports: Record<string, Record<string, number>>;
  portsExpected: Record<string, Record<string, number>>;
  dpids: Record<string, string>;
  dpidsExpected: Record<string, string>;
  pingallDropped: number;
  pingallSeconds: number;
  flowsOnFirstSwitch: number;
  iperfBitsPerSecond?: number;
  attached?: { name: string; port: number; reported?: number };
  attachedPingDropped?: number;
  detachedGone?: boolean;
  stopSeconds: number;
  exitCodes: Record<string, number | null>;
  socketsLeft: string[];
  /** Mininet's output, to show when an expectation fails. */
  output: string;
}

describe.sequential('tsof-switch in Mininet', () => {
  const id = randomBytes(2).toString('hex');
  let dir: string;
  const env = { ...process.env, TSOF_NODE: process.execPath };
  const daemons: Daemon[] = [];
  let runs = 0;
  /** What the runs measured, printed at the end. */
  const results: Record<string, unknown> = {};

  /** A controller on a free port, once it listens. */
  async function controller(name: string, cmd: string, args: (port: number) => string[]): Promise<number> {
    const port = await freePort();
    const d = new Daemon(name, cmd, args(port));
    daemons.push(d);
    await eventually(async () => {
      if (!d.running) throw new Error(`${name} exited:\n${d.tail()}`);
      return (await sh('ss', '-Hltn', `sport = :${port}`)).trim() !== '';
    }, `${name} listening on ${port}`);
    return port;
  }

  /**
   * Whatever a run left: Mininet's node shells (mininet:NAME) and the switches with their files in runDir, killed by
   * pid, then the links NAME-ethN. nodes is a pattern of node names: this run's, nothing else.
   */
  async function removeLeftovers(nodes: string, runDir: string): Promise<void> {
    const ours = new RegExp(`mininet:${nodes}$|--ctl ${runDir}/`);
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && +p !== process.pid)) {
      try {
        if (ours.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim())) process.kill(+pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    const link = new RegExp(`^\\d+: (${nodes}-eth\\d+)[:@]`);
    for (const line of (await sh('ip', '-o', 'link', 'show')).split('\n')) {
      const name = link.exec(line)?.[1];
      if (name) await sh('ip', 'link', 'del', name).catch(() => undefined); // gone with its peer
    }
  }

  /** One network from mininet_net.py; the run's output is in the error when it fails. */
  async function network(topo: string, controllerPort: number, ...flags: string[]): Promise<NetResult> {
    const prefix = `tm${id}${runs++}`;
    const runDir = join(dir, prefix);
    const args = [at('test/interop/mininet_net.py'), '--topo', topo, '--controller-port', String(controllerPort)];
    args.push('--prefix', prefix, '--rundir', runDir, ...flags);
    let out: string;
    try {
      const r = await run(PY, args, { encoding: 'utf8', env, timeout: 150_000 });
      out = r.stdout + r.stderr;
    } catch (e) {
      const r = e as { stdout?: string; stderr?: string };
      out = `${r.stdout ?? ''}${r.stderr ?? ''}\n${e}`;
    } finally {
      await removeLeftovers(`${prefix}\\w+`, runDir);
    }
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`mininet_net.py ${topo} gave no result:\n${out}`);
    const result = JSON.parse(line.slice('RESULT '.length)) as NetResult;
    if (!('stopSeconds' in result) || !('pingallDropped' in result)) throw new Error(`mininet_net.py ${topo} failed:\n${out}`);
    return { ...result, output: out };
  }

  /** What every run must show: Mininet's ports and dpids, everything reachable, a clean stop. */
  function expectSound(r: NetResult): void {
    expect(r.connected, r.output).toBe(true);
    expect(r.ports).toEqual(r.portsExpected);
    expect(r.dpids).toEqual(r.dpidsExpected);
    expect(r.pingallDropped, r.output).toBe(0);
    expect(r.flowsOnFirstSwitch).toBeGreaterThan(1); // the table-miss flow and learned ones, read by dpctl
    expect(Object.values(r.exitCodes).every((c) => c === 0), `${JSON.stringify(r.exitCodes)}\n${r.output}`).toBe(true);
    expect(r.socketsLeft).toEqual([]);
  }

  const summary = (r: NetResult) => ({
    start: `${r.startSeconds} s`,
    connected: `${r.connectSeconds} s`,
    pingall: `${r.pingallDropped}% dropped in ${r.pingallSeconds} s`,
    ...(r.iperfBitsPerSecond === undefined ? {} : { iperf3: `${(r.iperfBitsPerSecond / 1e6).toFixed(0)} Mbit/s` }),
    stop: `${r.stopSeconds} s`,
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsof-mininet-'));
    execFileSync('bash', [at('scripts/install-peers.sh'), 'mininet', 'iproute2', 'iputils-ping', 'iperf3', 'openvswitch-common', 'python3-os-ken'], {
      stdio: 'inherit',
    });
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`mininet results:\n${JSON.stringify(results, null, 2)}`);
  });

  describe.sequential("under tsof-controller's learning switch", () => {
    let port: number;

    beforeAll(async () => {
      port = await controller('tsof-controller', process.execPath, (p) => [
        at('bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(p), at('examples/learning-switch.ts'),
      ]);
    });

    it('runs from mn: --custom mininet/tsof.py --switch tsof --topo tree,2 --test pingall', async () => {
      const runDir = join(dir, 'mn');
      const started = Date.now();
      let out: string;
      try {
        const r = await run(PY, [
          ...MN_WITHOUT_CLEANUP,
          '--custom', at('mininet/tsof.py'), '--switch', `tsof,runDir=${runDir}`,
          '--controller', `remote,ip=127.0.0.1,port=${port}`, '--topo', 'tree,2', '--test', 'pingall',
        ], { encoding: 'utf8', env, timeout: 120_000 });
        out = r.stdout + r.stderr;
      } catch (e) {
        const r = e as { stdout?: string; stderr?: string };
        out = `${r.stdout ?? ''}${r.stderr ?? ''}\n${e}`;
      } finally {
        await removeLeftovers('(s[1-3]|h[1-4]|c0)', runDir);
      }
      results['mn tree,2'] = { seconds: (Date.now() - started) / 1000, pingall: /Results: .*/.exec(out)?.[0] };
      expect(out).toContain('*** Results: 0% dropped (12/12 received)');
      expect(out).not.toMatch(/Caught exception|did not start|did not stop/);
    }, 150_000);

    it('linear,4: Mininet\'s ports and dpids, pingall with nothing dropped, iperf3, a clean stop', async () => {
      const r = await network('linear,4', port, '--iperf');
      results['tsof-controller linear,4'] = summary(r);
      expectSound(r);
      expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    }, 180_000);

    it('tree,2: pingall, and a link added to a running switch (attach), then detached', async () => {
      const r = await network('tree,2', port, '--attach');
      results['tsof-controller tree,2'] = { ...summary(r), attached: r.attached };
      expectSound(r);
      expect(r.attached?.reported).toBe(r.attached?.port);
      expect(r.attachedPingDropped, r.output).toBe(0);
      expect(r.detachedGone).toBe(true);
    }, 180_000);
  });

  describe.sequential('under os-ken (simple_switch_13)', () => {
    it('linear,4: pingall with nothing dropped, iperf3', async () => {
      const port = await controller('osken-manager', PY, (p) => [
        '/usr/bin/osken-manager', '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(p),
        at('bench/controller/osken_learning_switch.py'),
      ]);
      const r = await network('linear,4', port, '--iperf');
      results['os-ken linear,4'] = summary(r);
      expectSound(r);
      expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    }, 180_000);
  });

  describe('the os-ken switch tester through Mininet', () => {
    /** Outputs, a match, a set-field, a push and a table miss: no throughput case (each takes 30 s). */
    const CASES = ['action/00_OUTPUT.json', 'action/17_PUSH_VLAN.json#1', 'action/25_SET_FIELD/11_IPV4_SRC.json#1', 'match/00_IN_PORT.json'];
    const N_CASES = 3 + 1 + 1 + 9;

    /** Runs the script through Mininet on these cases, its output in out: its log, results and the network left behind. */
    async function runTester(cases: string[], out: string) {
      const script = at('scripts/ryu-switch-test.ts');
      const flags = ['--mininet', '--target', 'tsof', '--port', String(await freePort()), '--out', out, '--quiet', '--timeout', '90', '--stall', '40'];
      const r = await exec(ROOT, process.execPath, ['--import', 'tsx', script, ...flags, ...cases]);
      const log = `${r.stdout}${r.stderr}`;
      console.log(log);
      // The node names' prefix is the run's own: tsof-switch's log is NAME.log beside the results.
      const prefix = readdirSync(out).map((f) => /^(tsrt[0-9a-f]{4})s\.log$/.exec(f)?.[1]).find(Boolean);
      expect(prefix, log).toBeDefined();
      const links = (await sh('ip', '-o', 'link', 'show')).split('\n').filter((l) => l.includes(prefix!));
      await removeLeftovers(`${prefix}[cst]`, out);
      // 0: all OK, 1: some not; anything else means the run could not be made.
      expect([0, 1], log).toContain(r.code);
      const tester = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as TesterResults;
      expect(tester.aborted, log).toBeUndefined();
      return { tester, links };
    }

    it('scripts/ryu-switch-test.ts --mininet: every case OK against a TsofSwitch, the network stopped', async () => {
      const out = join(dir, 'ryu-switch');
      const { tester, links } = await runTester(CASES, out);
      expect(tester.totals.total).toBe(N_CASES);
      const again = await runTesterWaitsAgain(tester, async (cases) => {
        const second = await runTester(cases, join(out, 'again'));
        expect(second.links).toEqual([]);
        return second.tester;
      });
      const ok = tester.cases.filter((c) => c.result === 'OK').length;
      results['os-ken switch tester'] = `${ok} OK of ${tester.totals.total} in ${tester.seconds} s${again.length ? ` (run again: ${again.join(', ')})` : ''}`;
      expect(tester.cases.filter((c) => c.result !== 'OK').map((c) => `${c.file}#${c.index} ${c.result}: ${c.reason}`)).toEqual([]);
      // Read through the READY line's address: the target received the tester's frames on port 1.
      const ports = readFileSync(join(out, 'target-ports.txt'), 'utf8');
      expect(Number(/port {2}1: rx pkts=(\d+)/.exec(ports)?.[1]), ports).toBeGreaterThanOrEqual(N_CASES);
      expect(readFileSync(join(out, 'mininet.log'), 'utf8')).toMatch(/\*\*\* Done\s*$/);
      expect(links).toEqual([]);
    }, 120_000);
  });
});
