// Runs the Ryu/os-ken switch test tool (os_ken.tests.switch.tester, Debian's
// python3-os-ken) against a switch under test and reports every case:
//
//               osken-manager (tester app, tcp:127.0.0.1:PORT)
//                 |                                   |
//   target switch, dpid 1 (tsof or OVS)      tester switch, dpid 2 (OVS netdev)
//        port 1 ============ veth ============ port 1   the tester sends here
//        port 2 ============ veth ============ port 2   and expects packets here
//        port 3 ============ veth ============ port 3
//
// The tester installs each case's flows, groups and meters in the target, reads
// them back with flow/group-desc/meter-config stats, sends the ingress packet as
// a packet-out from tester port 1, and expects it as a packet-in from the tester
// (egress), from the target (PACKET_IN), or no match at all (table-miss, checked
// with table stats); group and meter cases count throughput for 30 s each.
// It prints each result as a line, "    <description> OK|ERROR", the reason on the
// next line, and ends by sending itself SIGTERM. This script stages the selected
// cases (test/fixtures/ryu-switch-of13), builds the topology with unique names,
// runs the tool, parses its lines and writes results.json (and the log of each
// process, and the target's port counters at the end, target-ports.txt) to the output directory, a summary to stdout and, with --write-docs,
// the target's section of docs/conformance/ryu-switch.md.
//
// With --mininet, Mininet builds the same topology instead
// (mininet/ryu_switch_net.py: the target from mininet/tsof.py, or an OVSSwitch,
// and the tester an OVSSwitch, three Mininet links), and stops it with its own
// net.stop(); the tester, the parsing and the reports are the same.
//
// Needs root. Installs missing peers (scripts/install-peers.sh) and starts the OVS
// daemons if they are down (and leaves them running: other tests may use them).
// Removes what it made (bridges, veths, processes), also when interrupted.
// Exit status: 0 when every selected case is OK, 1 when some are not, 2 when the
// run could not be made (bad flag, topology, a peer that would not start).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `Usage: sudo npx tsx scripts/ryu-switch-test.ts --target tsof|ovs [options] [PATH[#N,M]...]
  PATH                    run only these case files or directories, relative to the case tree (action,
                          action/25_SET_FIELD, match/00_IN_PORT.json); #N,M picks cases by number, from 1
                          (group/00_ALL.json#1). Default: all 991.
  --target tsof|ovs       the switch under test: tsof-switch (bin/tsof-switch.js) or an OVS netdev bridge
  --mininet               build the topology in Mininet (mininet/ryu_switch_net.py) instead of with veths
  --skip-throughput       leave out the 51 group and meter cases that measure throughput for 30 s each
  --port N                the tester's OpenFlow port (default 16633; never 6633 or 6653)
  --out DIR               output directory (default tmp/ryu-switch/<target>, <target>-mininet; emptied first)
  --cases DIR             the case tree (default test/fixtures/ryu-switch-of13)
  --timeout S             give up after S seconds in all (default 7200)
  --stall S               give up when no result comes for S seconds (default 120)
  --write-docs            write the target's section of docs/conformance/ryu-switch.md
  --docs-from FILE        only write that section from the results.json of an earlier run
  --quiet                 no line per case while running
  --fix-tester-sctp-crc   correct os-ken's SCTP checksum before the tester starts (see TESTER_SCTP_FIX); for
                          showing that the SCTP set-field ERRORs are the tester's, never for the published count`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const OSKEN = '/usr/bin/osken-manager';
const TARGET_DPID = '0000000000000001';
const TESTER_DPID = '0000000000000002';
const DOCS = join(ROOT, 'docs/conformance/ryu-switch.md');
const MININET_NET = join(ROOT, 'mininet/ryu_switch_net.py');
const TARGETS = {
  tsof: 'tsof-switch',
  ovs: 'Open vSwitch (datapath_type=netdev)',
} as const;
type Target = keyof typeof TARGETS;
const isTarget = (t: string | undefined): t is Target => t !== undefined && Object.hasOwn(TARGETS, t);

class UsageError extends Error {}

// os-ken 2.5 on Python 3 computes SCTP's CRC32c over str(data), the text "bytearray(b'...')", not over the bytes: a
// Python 2 leftover in os_ken/lib/packet/sctp.py. Its own function, handed an object whose str() is the bytes one
// character each, computes the RFC 9260 checksum. The tester is then started as osken-manager would start it.
const TESTER_SCTP_FIX = `
import sys
from os_ken.lib.packet import sctp
crc32c_of_text = sctp.sctp._checksum
class Latin1:
    def __init__(self, data): self.text = bytes(data).decode('latin-1')
    def __str__(self): return self.text
sctp.sctp._checksum = lambda self, data: crc32c_of_text(self, Latin1(data))
from os_ken.cmd.manager import main
sys.exit(main())
`;

// ---- options -----------------------------------------------------------------------------

function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      mininet: { type: 'boolean', default: false },
      'skip-throughput': { type: 'boolean', default: false },
      port: { type: 'string', default: '16633' },
      out: { type: 'string' },
      cases: { type: 'string', default: join(ROOT, 'test/fixtures/ryu-switch-of13') },
      timeout: { type: 'string', default: '7200' },
      stall: { type: 'string', default: '120' },
      'write-docs': { type: 'boolean', default: false },
      'docs-from': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'fix-tester-sctp-crc': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  // --docs-from only reads a results file, which names its target.
  if (values['docs-from'] !== undefined) {
    const results = JSON.parse(readFileSync(values['docs-from'], 'utf8')) as Results;
    writeDocs(results);
    console.log(`${summarize(results)}\n\ndocs: ${relative(ROOT, DOCS)}`);
    process.exit(0);
  }
  const target = values.target;
  if (!isTarget(target)) throw new UsageError(`--target: tsof or ovs, not ${target ?? '(missing)'}`);
  const seconds = (name: 'timeout' | 'stall'): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${name}: expected a positive number of seconds, got ${values[name]}`);
    return v;
  };
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port: expected a TCP port, got ${values.port}`);
  if (port === 6633 || port === 6653) throw new UsageError(`--port: ${port} is OpenFlow's well-known port; pick another (default 16633)`);
  if (values.mininet && values['write-docs']) {
    throw new UsageError('--write-docs: docs/conformance/ryu-switch.md holds the runs over veths; report a --mininet run in docs/mininet.md');
  }
  return {
    target,
    mininet: values.mininet,
    paths: positionals,
    skipThroughput: values['skip-throughput'],
    port,
    out: resolve(values.out ?? join(ROOT, 'tmp/ryu-switch', values.mininet ? `${target}-mininet` : target)),
    casesDir: resolve(values.cases),
    timeout: seconds('timeout'),
    stall: seconds('stall'),
    writeDocs: values['write-docs'],
    quiet: values.quiet,
    fixTesterSctpCrc: values['fix-tester-sctp-crc'],
  };
}
type Options = ReturnType<typeof options>;

// ---- the cases ---------------------------------------------------------------------------

interface CaseFile {
  /** Path relative to the case tree, e.g. "action/25_SET_FIELD/03_ETH_DST.json". */
  file: string;
  /** The file's title, which the tester prints before its first case. */
  title: string;
  cases: { index: number; description: string; throughput: boolean }[];
}

type Outcome = 'OK' | 'ERROR' | 'NOT RUN';
interface CaseResult {
  file: string;
  category: string;
  title: string;
  index: number;
  description: string;
  throughput: boolean;
  result: Outcome;
  /** The tester's reason for an ERROR, or why the case did not run. */
  reason?: string;
}

/** "action", "match", "group", "meter": the case tree's top directory. */
const categoryOf = (file: string): string => file.split('/')[0];

const caseResult = (f: CaseFile, c: CaseFile['cases'][number], result: Outcome): CaseResult => ({
  file: f.file,
  category: categoryOf(f.file),
  title: f.title,
  index: c.index,
  description: c.description,
  throughput: c.throughput,
  result,
});

function readCaseTree(dir: string): CaseFile[] {
  if (!existsSync(dir)) throw new UsageError(`--cases: no such directory ${dir}`);
  const files: CaseFile[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.json')) files.push(readCaseFile(dir, path));
    }
  };
  walk(dir);
  if (!files.length) throw new UsageError(`--cases: no *.json case files under ${dir}`);
  return files;
}

function readCaseFile(dir: string, path: string): CaseFile {
  // JSON.parse rounds 64-bit integers (metadata, tunnel ids), which is harmless
  // here: only titles and descriptions are read. Files are staged byte for byte.
  const items = JSON.parse(readFileSync(path, 'utf8')) as unknown[];
  const title = items.find((i): i is string => typeof i === 'string');
  if (title === undefined) throw new Error(`${path}: no title string`);
  const cases = items
    .filter((i): i is { description: string; tests: { ingress: unknown }[] } => typeof i === 'object' && i !== null)
    .map((c, n) => ({
      index: n + 1,
      description: c.description,
      // A throughput case sends {"packets": ...} for 30 s instead of one packet.
      throughput: c.tests.some((t) => !Array.isArray(t.ingress)),
    }));
  return { file: relative(dir, path), title, cases };
}

/** The cases the PATH arguments and --skip-throughput leave, file by file, in the tree's order. */
function select(tree: CaseFile[], paths: string[], skipThroughput: boolean): CaseFile[] {
  let picked = tree.map((f) => ({ ...f, cases: skipThroughput ? f.cases.filter((c) => !c.throughput) : f.cases }));
  if (paths.length) {
    const wanted = new Map<string, Set<number> | 'all'>();
    for (const entry of paths) {
      const [path, nums] = entry.split('#');
      const p = path.replace(/^\.\/|\/+$/g, '');
      const files = tree.filter((f) => f.file === p || f.file.startsWith(`${p}/`));
      if (!files.length) throw new UsageError(`${entry}: no case file or directory ${p} in the case tree`);
      for (const f of files) {
        if (nums === undefined) {
          wanted.set(f.file, 'all');
          continue;
        }
        const set = wanted.get(f.file) ?? new Set<number>();
        if (set === 'all') continue;
        for (const n of nums.split(',').map(Number)) {
          if (!Number.isInteger(n) || n < 1 || n > f.cases.length) {
            throw new UsageError(`${entry}: ${f.file} has cases 1 to ${f.cases.length}`);
          }
          set.add(n);
        }
        wanted.set(f.file, set);
      }
    }
    picked = picked
      .filter((f) => wanted.has(f.file))
      .map((f) => {
        const w = wanted.get(f.file)!;
        return w === 'all' ? f : { ...f, cases: f.cases.filter((c) => w.has(c.index)) };
      });
  }
  picked = picked.filter((f) => f.cases.length);
  if (!picked.length) throw new UsageError('the selection leaves no case to run');
  return picked;
}

// Keeps the chosen cases of a file, in Python: JSON.parse would round the
// 64-bit integers some prerequisites hold.
const FILTER_PY = `
import json, sys
items = json.load(open(sys.argv[1]))
keep = {int(n) for n in sys.argv[3:]}
cases = [i for i in items if not isinstance(i, str)]
out = [i for i in items if isinstance(i, str)] + [c for n, c in enumerate(cases, 1) if n in keep]
json.dump(out, open(sys.argv[2], 'w'), indent=4)
`;

/** Writes the selected cases where the tester reads them: whole files as they are. */
function stage(casesDir: string, selection: CaseFile[], into: string, tree: CaseFile[]): void {
  for (const f of selection) {
    const src = join(casesDir, f.file);
    const dst = join(into, f.file);
    mkdirSync(dirname(dst), { recursive: true });
    const whole = tree.find((t) => t.file === f.file)!.cases.length === f.cases.length;
    if (whole) copyFileSync(src, dst);
    else execFileSync(PYTHON, ['-c', FILTER_PY, src, dst, ...f.cases.map((c) => String(c.index))]);
  }
}

// ---- the tester's output -----------------------------------------------------------------

/**
 * Follows the tester's log line by line: a file's title, then per case
 * "    <description padded to 100> OK|ERROR" and, for an ERROR, the reason
 * indented by 8. After "---  Test end  ---" comes its own report, which ends in
 * "OK(n) / ERROR(m)".
 */
class TesterLog {
  readonly results = new Map<CaseFile['cases'][number], CaseResult>();
  joined = { target: false, tester: false };
  ended = false;
  report?: { ok: number; error: number };
  private file?: CaseFile;
  private pending?: CaseResult;
  private readonly byTitle: Map<string, CaseFile>;

  constructor(
    private readonly selection: CaseFile[],
    private readonly onResult: (r: CaseResult) => void,
  ) {
    this.byTitle = new Map(selection.map((f) => [f.title, f]));
  }

  line(text: string): void {
    const line = text.replace(/\r$/, '');
    if (this.ended) {
      const m = /^OK\((\d+)\) \/ ERROR\((\d+)\)$/.exec(line);
      if (m) this.report = { ok: Number(m[1]), error: Number(m[2]) };
      return;
    }
    if (line === '---  Test end  ---') this.ended = true;
    else if (line === `dpid=${TARGET_DPID} : Join target SW.`) this.joined.target = true;
    else if (line === `dpid=${TESTER_DPID} : Join tester SW.`) this.joined.tester = true;
    else if (this.byTitle.has(line)) this.file = this.byTitle.get(line);
    else {
      const result = /^ {4}(\S.*?) +(OK|ERROR)$/.exec(line);
      if (result) return this.result(result[1], result[2] as 'OK' | 'ERROR');
      const reason = /^ {8}(\S.*)$/.exec(line);
      if (reason && this.pending) {
        this.pending.reason = reason[1];
        this.flush();
      }
    }
  }

  private result(description: string, outcome: 'OK' | 'ERROR'): void {
    // The case is the next one of the current file with this description; files
    // hold no two cases with the same description.
    const files = this.file ? [this.file, ...this.selection] : this.selection;
    for (const f of files) {
      const c = f.cases.find((x) => x.description.trim() === description && !this.results.has(x));
      if (!c) continue;
      const r = caseResult(f, c, outcome);
      this.results.set(c, r);
      // An ERROR is handed over with its reason, on the next line.
      this.flush();
      if (outcome === 'OK') this.onResult(r);
      else this.pending = r;
      return;
    }
    throw new Error(`the tester reported a case that was not selected: ${description}`);
  }

  /** Hands over an ERROR still waiting for its reason. */
  flush(): void {
    if (this.pending) this.onResult(this.pending);
    this.pending = undefined;
  }

  /** Every selected case, in the order of the selection; those without a result as NOT RUN. */
  all(why: string): CaseResult[] {
    return this.selection.flatMap((f) =>
      f.cases.map(
        (c) => this.results.get(c) ?? { ...caseResult(f, c, 'NOT RUN'), reason: why },
      ),
    );
  }
}

// ---- processes and topology --------------------------------------------------------------

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const quiet = (cmd: string, ...args: string[]): void => {
  try {
    sh(cmd, ...args);
  } catch {
    // clean-up of something that may already be gone
  }
};

class Run {
  // Interface names are at most 15 characters: tsrt<4 hex><role><n>, or in Mininet tsrt<4 hex><role>-eth<n>.
  readonly id = randomBytes(2).toString('hex');
  readonly prefix = `tsrt${this.id}`;
  readonly testerBr = `${this.prefix}tester`;
  readonly targetBr = `${this.prefix}target`;
  readonly cables = [1, 2, 3].map((n) => ({ n, tester: `${this.prefix}t${n}`, target: `${this.prefix}s${n}` }));
  readonly children: ChildProcess[] = [];
  private readonly made = { cables: false, bridges: [] as string[] };
  private cleaned = false;

  constructor(readonly opt: Options) {}

  cablesUp(): void {
    this.made.cables = true;
    for (const c of this.cables) {
      sh('ip', 'link', 'add', c.tester, 'type', 'veth', 'peer', 'name', c.target);
      for (const end of [c.tester, c.target]) {
        // Fresh veths send IPv6 router solicitations, which the tester would count.
        sh('sysctl', '-qw', `net.ipv6.conf.${end}.disable_ipv6=1`);
        sh('ip', 'link', 'set', end, 'up');
      }
    }
  }

  /** An OVS netdev bridge on one side of the cables, OpenFlow 1.3 only, no fallback forwarding. */
  bridge(name: string, dpid: string, side: 'tester' | 'target'): void {
    this.made.bridges.push(name);
    sh(
      'ovs-vsctl', '--timeout=10', 'add-br', name,
      '--', 'set', 'bridge', name, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13',
      `other-config:datapath-id=${dpid}`, 'other-config:disable-in-band=true',
      ...this.cables.flatMap((c) => ['--', 'add-port', name, c[side], '--', 'set', 'interface', c[side], `ofport_request=${c.n}`]),
      '--', 'set-controller', name, `tcp:127.0.0.1:${this.opt.port}`,
    );
  }

  /** Starts a process with stdout and stderr in a log file, but for the one named in pipe, returned for reading. */
  spawn(cmd: string, args: string[], log: string, pipe?: 'stdout' | 'stderr', env?: NodeJS.ProcessEnv): ChildProcess {
    const fd = openSync(log, 'w');
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', pipe === 'stdout' ? 'pipe' : fd, pipe === 'stderr' ? 'pipe' : fd] });
    closeSync(fd);
    this.children.push(child);
    return child;
  }

  /** Removes what this run made; safe to call twice and from a signal handler. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    for (const br of this.made.bridges) quiet('ovs-vsctl', '--timeout=10', '--if-exists', 'del-br', br);
    if (this.made.cables) for (const c of this.cables) quiet('ip', 'link', 'del', c.tester);
    // A child that ignored SIGTERM does not outlive the run. Mininet's net.stop() takes a few seconds on a busy machine.
    const deadline = Date.now() + 10_000;
    while (this.children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
      execFileSync('sleep', ['0.1']);
    }
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

const exited = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));

const listening = (port: number): boolean => sh('ss', '-Hltn', `sport = :${port}`) !== '';

const tail = (path: string, lines = 15): string =>
  existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';

function versions({ target, mininet }: Options): Record<string, string> {
  const v: Record<string, string> = {
    'os-ken': sh('dpkg-query', '-W', '-f', '${Version}', 'python3-os-ken'),
    'Open vSwitch': sh('ovs-vswitchd', '--version').split('\n')[0].replace(/^.*\) /, ''),
  };
  if (target === 'tsof') {
    const dirty = sh('git', '-C', ROOT, 'status', '--porcelain', '--', 'src', 'native', 'bin') !== '';
    v.tsof = sh('git', '-C', ROOT, 'rev-parse', '--short', 'HEAD') + (dirty ? ' (with uncommitted changes)' : '');
  }
  if (mininet) v.Mininet = sh(PYTHON, '-c', 'from mininet.net import VERSION; print(VERSION)');
  return v;
}

// ---- the run -----------------------------------------------------------------------------

interface Results {
  target: Target;
  targetName: string;
  command: string;
  date: string;
  seconds: number;
  versions: Record<string, string>;
  selection: { paths: string[]; skipThroughput: boolean; files: number; cases: number };
  /** Set when the run did not finish normally (a stall, a timeout, a process that died). */
  aborted?: string;
  /** The tester's own count, "OK(n) / ERROR(m)", when it got that far. */
  testerReport?: { ok: number; error: number };
  totals: Counts;
  categories: Record<string, Counts>;
  files: (Counts & { file: string; title: string })[];
  cases: CaseResult[];
}
interface Counts {
  total: number;
  ok: number;
  error: number;
  notRun: number;
}

function count(cases: CaseResult[]): Counts {
  const n = (o: Outcome) => cases.filter((c) => c.result === o).length;
  return { total: cases.length, ok: n('OK'), error: n('ERROR'), notRun: n('NOT RUN') };
}

/** The two switches, cabled and connecting to the tester. */
interface Topology {
  /** Where ovs-ofctl reaches the target (a bridge or tcp:HOST:PORT), for its port counters at the end. */
  target: () => string;
  /** The process the run needs beside the tester, which ends the run when it exits. */
  process?: { name: string; log: string; child: ChildProcess };
}

/** Veths and OVS bridges of the run's own, and tsof-switch as a process of its own. */
function veths(run: Run, opt: Options): Topology {
  run.cablesUp();
  run.bridge(run.testerBr, TESTER_DPID, 'tester');
  if (opt.target === 'ovs') {
    run.bridge(run.targetBr, TARGET_DPID, 'target');
    return { target: () => run.targetBr };
  }
  const log = join(opt.out, 'tsof-switch.log');
  const child = run.spawn(
    'node',
    [
      'bin/tsof-switch.js', '--dpid', '0x1',
      ...run.cables.flatMap((c) => ['--port', `${c.target}=${c.n}`]),
      '--controller', `tcp:127.0.0.1:${opt.port}`, '--fail-mode', 'secure',
      // Its own control socket: the default is per dpid, and other runs may use dpid 1 at the same time.
      '--ctl', join(opt.out, 'tsof-switch.ctl'),
      // For the port counters read at the end (target-ports.txt); on a port the kernel picks, read back from its log.
      '--listen', 'ptcp:0:127.0.0.1',
    ],
    log,
  );
  const listener = () => /listening for OpenFlow connections .*port=(\d+)/.exec(readFileSync(log, 'utf8'))?.[1];
  return { process: { name: 'tsof-switch', log, child }, target: () => `tcp:127.0.0.1:${listener()}` };
}

/**
 * The same topology in Mininet (mininet/ryu_switch_net.py), once it runs: its READY line names where the target is
 * reached. tsof-switch's control socket and log are in the output directory.
 */
async function mininet(run: Run, opt: Options): Promise<Topology> {
  const log = join(opt.out, 'mininet.log');
  const child = run.spawn(
    PYTHON,
    [MININET_NET, '--controller-port', String(opt.port), '--target', opt.target, '--prefix', run.prefix, '--rundir', opt.out],
    log,
    'stdout',
    // sudo may leave a PATH without the node that built the addon (docs/mininet.md).
    { ...process.env, TSOF_NODE: process.execPath },
  );
  const target = await new Promise<string | undefined>((res) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      if (l.startsWith('READY ')) res((JSON.parse(l.slice('READY '.length)) as { target: string }).target);
    });
    lines.once('close', () => res(undefined));
  });
  if (target === undefined) throw new Error(`the Mininet network did not come up:\n${tail(log)}`);
  return { process: { name: 'the Mininet network (mininet/ryu_switch_net.py)', log, child }, target: () => target };
}

async function runTester(run: Run, opt: Options, selection: CaseFile[], stageDir: string): Promise<{ log: TesterLog; aborted?: string }> {
  const total = selection.reduce((s, f) => s + f.cases.length, 0);
  let done = 0;
  const log = new TesterLog(selection, (r) => {
    done++;
    if (opt.quiet) return;
    const head = `[${String(done).padStart(String(total).length)}/${total}] ${r.result.padEnd(5)} ${r.file}#${r.index}  ${r.description}`;
    console.log(r.reason ? `${head}\n${r.reason.replace(/^/gm, '        ')}` : head);
  });

  if (listening(opt.port)) throw new Error(`--port ${opt.port}: something already listens there`);
  const oskenLog = join(opt.out, 'osken-manager.log');
  const osken = run.spawn(
    PYTHON,
    [
      ...(opt.fixTesterSctpCrc ? ['-c', TESTER_SCTP_FIX] : [OSKEN]), '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(opt.port),
      '--test-switch-dir', stageDir, '--test-switch-target', TARGET_DPID, '--test-switch-tester', TESTER_DPID,
      'os_ken.tests.switch.tester',
    ],
    join(opt.out, 'osken-manager.stdout.log'),
    'stderr',
  );
  // The tester logs to stderr; stdout only gets the dots of throughput cases.
  const logFd = openSync(oskenLog, 'w');
  const lines = createInterface({ input: osken.stderr! });
  let lastResult = Date.now();
  let before = 0;
  lines.on('line', (l) => {
    writeFileSync(logFd, `${l}\n`);
    log.line(l);
    if (log.results.size !== before) {
      before = log.results.size;
      lastResult = Date.now();
    }
  });
  const oskenEnd = exited(osken).then((e) => ({ who: 'osken' as const, ...e }));
  const linesEnd = new Promise<void>((res) => lines.once('close', res));

  for (const end = Date.now() + 20_000; !listening(opt.port); await sleep(100)) {
    if (osken.exitCode !== null || osken.signalCode !== null || Date.now() > end) {
      throw new Error(`osken-manager did not listen on port ${opt.port}:\n${tail(oskenLog)}`);
    }
  }

  const topo = opt.mininet ? await mininet(run, opt) : veths(run, opt);
  const targetEnd = topo.process
    ? exited(topo.process.child).then((e) => ({ who: 'target' as const, ...e }))
    : new Promise<never>(() => {});

  // The tester waits for the switches without limit, and for ever if one dies.
  const started = Date.now();
  let aborted: string | undefined;
  const watchdog = new Promise<{ who: 'watchdog' }>((res) => {
    const timer = setInterval(() => {
      const now = Date.now();
      if (!(log.joined.target && log.joined.tester) && now - started > 60_000) {
        const missing = [!log.joined.target && 'target (dpid 1)', !log.joined.tester && 'tester (dpid 2)'].filter(Boolean).join(' and ');
        aborted = `the ${missing} switch did not connect to the tester within 60 s`;
      } else if (now - started > opt.timeout * 1000) aborted = `the run took longer than --timeout ${opt.timeout} s`;
      else if (!log.ended && now - lastResult > opt.stall * 1000) aborted = `no result for --stall ${opt.stall} s`;
      if (aborted) {
        clearInterval(timer);
        res({ who: 'watchdog' });
      }
    }, 1000);
    void oskenEnd.then(() => clearInterval(timer));
  });

  const first = await Promise.race([oskenEnd, targetEnd, watchdog]);
  if (first.who === 'target') {
    const how = first.signal ? `signal ${first.signal}` : `code ${first.code}`;
    aborted = `${topo.process!.name} exited (${how}) during the run:\n${tail(topo.process!.log)}`;
  }
  if (first.who !== 'osken') {
    osken.kill('SIGTERM');
    const t = setTimeout(() => osken.kill('SIGKILL'), 5000);
    await oskenEnd;
    clearTimeout(t);
  } else if (!log.ended) {
    // It ends itself with SIGTERM (143) after the report; anything else is a failure.
    const how = first.signal ? `signal ${first.signal}` : `code ${first.code}`;
    aborted = `osken-manager exited (${how}) before the end of the tests:\n${tail(oskenLog)}`;
  }
  await linesEnd;
  // The target's port counters over the whole run: what it received and sent, beside what the tester measured.
  try {
    const ports = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-ports', topo.target()], { encoding: 'utf8' });
    writeFileSync(join(opt.out, 'target-ports.txt'), ports);
  } catch (e) {
    writeFileSync(join(opt.out, 'target-ports.txt'), `not read: ${(e as Error).message}\n`);
  }
  closeSync(logFd);
  log.flush();
  return { log, aborted };
}

// ---- reports -----------------------------------------------------------------------------

function summarize(r: Results): string {
  const pct = (c: Counts) => (c.total ? `${((100 * c.ok) / c.total).toFixed(1)}%` : '-');
  const row = (name: string, c: Counts) =>
    `  ${name.padEnd(22)} ${String(c.ok).padStart(4)} OK ${String(c.error).padStart(4)} ERROR` +
    `${c.notRun ? ` ${String(c.notRun).padStart(4)} NOT RUN` : ''} of ${String(c.total).padStart(4)}  ${pct(c)}`;
  const out = [`Ryu switch test, target ${r.targetName}: ${r.totals.ok} OK / ${r.totals.error} ERROR of ${r.totals.total}` +
    (r.totals.notRun ? ` (${r.totals.notRun} NOT RUN)` : '')];
  for (const [cat, c] of Object.entries(r.categories)) out.push(row(cat, c));
  if (r.testerReport) out.push(`  (the tester's own report: OK(${r.testerReport.ok}) / ERROR(${r.testerReport.error}))`);
  if (r.aborted) out.push(`  ABORTED: ${r.aborted.split('\n')[0]}`);
  return out.join('\n');
}

/** Categories for the tables: the four directories, with set_field apart from the other actions. */
function categories(cases: CaseResult[]): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const cat of ['action', 'match', 'group', 'meter']) {
    const of = cases.filter((c) => c.category === cat);
    if (!of.length) continue;
    out[cat] = count(of);
    if (cat === 'action') {
      const sf = of.filter((c) => c.file.startsWith('action/25_SET_FIELD/'));
      if (sf.length) out['action, of which set_field'] = count(sf);
    }
  }
  return out;
}

const DOCS_INTRO = `# The Ryu switch test tool

The switch test tool of Ryu, as its fork os-ken ships it (Debian's python3-os-ken, \`os_ken.tests.switch.tester\`),
runs 991 OpenFlow 1.3 cases (test/fixtures/ryu-switch-of13: 144 files; action 226, of which 170 set_field, match 714,
group 15, meter 36) against a switch under test. A second switch, the tester (an Open vSwitch netdev bridge, dpid 2),
is cabled port for port to the target (dpid 1) with veths; one os-ken controller drives both.

Run by scripts/ryu-switch-test.ts, which builds the topology, runs the tool and parses its output; each section below
is written by \`--write-docs\` for its target and lists every ERROR with the tester's reason. Published results of the
same 991 cases (osrg/ryu-certification, Ryu on Python 2): Lagopus 973 OK, Trema Switch 966, ofsoftswitch13 955,
OVS (kernel) 670, OVS netdev 610.

## What the tester asks of the target

- Before each case: meter-mod DELETE OFPM_ALL and group-mod DELETE OFPG_ALL (no barrier; errors ignored), flow-mod
  DELETE in OFPTT_ALL, a flow in table 0 \`in_port=2,actions=output:CONTROLLER\` (priority 0x8000), a barrier. The
  tester switch gets the same flow, which sends what the target outputs on port 2 to the controller.
- Each prerequisite (flow-, group-, meter-mod) is followed by a barrier; an error with its xid fails the case
  ("Failed to add flows: OFPErrorMsg[type, code]"). Then it is read back and compared as os-ken prints it: flow stats
  (all tables) must hold a flow with the same cookie, priority, timeouts, table_id, match (the OXM fields in the order
  sent, values and masks as sent) and instructions (sorted by type; actions in order with every field, e.g. output
  max_len); meter config must echo flags, meter_id and bands (rate, burst_size, prec_level); group desc is checked for
  the group type only (os-ken's comparison returns after its first attribute).
- The ingress frame goes out as a packet-out on tester port 1 right after that reply: the new flows must be in force
  for the very next frame. Port stats (OFPP_ANY) of both switches, read before and after, only word the reason of a
  timeout. Every wait, for a reply or for the packet, ends after 3 s.
- egress: the tester's packet-in must carry the very bytes os-ken built, which are padded to 60 bytes: a frame that
  shrinks below 60 (pop_mpls, pop_vlan) must leave padded, since veths do not pad. PACKET_IN: a packet-in from the
  target with any reason but NO_MATCH or INVALID_TTL and the same bytes (so padded too). Any other packet-in in that
  window (a stray frame reaching tester port 2) fails the case.
- table-miss: after a barrier to the tester and 1 s, the target's table stats must show lookup_count grown and
  matched_count not, in the tables named.
- Throughput (all group and meter cases): os-ken sends packet-outs at 100 to 20,000 frames/s for 30 s; the rates of the
  tester's flows for in_port 2 and 3 (flow stats, byte and packet counts) must be within 10% of the expected ones.
- os-ken 2.5.0 on Python 3 computes SCTP's CRC32c over \`str(bytearray)\`, so the 16 set_field cases on SCTP ports
  expect a checksum no correct switch produces (neither a recomputed CRC nor OVS's incremental update matches).
`;

function docsSection(r: Results): string {
  const cell = (c: Counts) => `${c.ok} | ${c.error}${c.notRun ? ` (+${c.notRun} not run)` : ''} | ${c.total}`;
  const out = [
    `<!-- ryu-switch:${r.target}:begin -->`,
    `## ${r.targetName}`,
    '',
    `**${r.totals.ok} OK / ${r.totals.error} ERROR of ${r.totals.total}**` +
      (r.totals.notRun ? `, ${r.totals.notRun} not run` : '') +
      (r.selection.paths.length || r.selection.skipThroughput ? ' (a subset of the 991)' : ''),
    '',
    `- Command: \`${r.command}\``,
    `- Date: ${r.date} (${Math.round(r.seconds / 60)} min)`,
    `- Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  if (r.aborted) out.push(`- Aborted: ${r.aborted.split('\n')[0]}`);
  out.push('', '| category | OK | ERROR | cases |', '|---|---:|---:|---:|');
  for (const [cat, c] of Object.entries(r.categories)) out.push(`| ${cat} | ${cell(c)} |`);
  out.push(`| **all** | ${cell(r.totals)} |`);

  const failed = r.cases.filter((c) => c.result !== 'OK');
  if (failed.length) {
    // The tester's own grouping: the reason up to its first colon.
    const kinds = new Map<string, number>();
    for (const c of failed) {
      const k = c.result === 'NOT RUN' ? 'not run' : (c.reason ?? '').split(':')[0] || '(no reason)';
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    out.push('', '### Errors by kind', '', '| kind | cases |', '|---|---:|');
    for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1])) out.push(`| ${k} | ${n} |`);

    out.push('', '### Errors by file', '');
    for (const f of r.files.filter((x) => x.ok < x.total)) {
      out.push(`#### ${f.file}: ${f.ok} of ${f.total} OK`, '');
      for (const c of failed.filter((x) => x.file === f.file)) {
        const reason = (c.reason ?? '').replace(/\n/g, ' ').replace(/\|/g, '\\|');
        out.push(`- #${c.index} \`${c.description}\` ${c.result}: ${reason}`);
      }
      out.push('');
    }
  }
  out.push(`<!-- ryu-switch:${r.target}:end -->`);
  return out.join('\n').trimEnd();
}

/** Rewrites the intro and this target's section, keeping the other target's. */
function writeDocs(r: Results): void {
  const old = existsSync(DOCS) ? readFileSync(DOCS, 'utf8') : '';
  const sections = (Object.keys(TARGETS) as Target[]).map((t) => {
    if (t === r.target) return docsSection(r);
    const m = new RegExp(`<!-- ryu-switch:${t}:begin -->[\\s\\S]*?<!-- ryu-switch:${t}:end -->`).exec(old);
    return m?.[0];
  });
  writeFileSync(DOCS, [DOCS_INTRO, ...sections.filter(Boolean)].join('\n\n') + '\n');
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opt = options();
  const tree = readCaseTree(opt.casesDir);
  const selection = select(tree, opt.paths, opt.skipThroughput);
  if (process.getuid?.() !== 0) throw new UsageError('needs root (veths and Open vSwitch): run it with sudo');

  const peers = ['openvswitch-switch', 'openvswitch-common', 'python3-os-ken', 'iproute2', ...(opt.mininet ? ['mininet'] : [])];
  execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), ...peers], {
    stdio: 'inherit',
  });
  try {
    sh('ovs-vsctl', '--timeout=2', 'show');
  } catch {
    sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
  }

  rmSync(opt.out, { recursive: true, force: true });
  const stageDir = join(opt.out, 'cases');
  mkdirSync(stageDir, { recursive: true });
  stage(opt.casesDir, selection, stageDir, tree);

  const run = new Run(opt);
  // The clean-up waits a turn of the event loop: run under tsx, this process must
  // first tell tsx it got the signal, or tsx kills it 30 ms later.
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`ryu-switch-test: ${sig}, cleaning up`);
    setImmediate(() => {
      run.cleanup();
      process.exit(130);
    });
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  process.on('exit', () => run.cleanup());

  const start = Date.now();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  // Read before the run: the code under test is what was checked out when it began.
  const vers = versions(opt);
  const nCases = selection.reduce((s, f) => s + f.cases.length, 0);
  const targetName = `${TARGETS[opt.target]}${opt.mininet ? ', in Mininet' : ''}`;
  console.log(`ryu-switch-test: ${nCases} cases in ${selection.length} files against ${targetName}; output in ${opt.out}`);
  let tester: Awaited<ReturnType<typeof runTester>>;
  try {
    tester = await runTester(run, opt, selection, stageDir);
  } finally {
    run.cleanup();
  }

  const cases = tester.log.all(tester.aborted ? `the run was aborted: ${tester.aborted.split('\n')[0]}` : 'the tester did not report it');
  const results: Results = {
    target: opt.target,
    targetName,
    command: `sudo npx tsx scripts/ryu-switch-test.ts ${process.argv.slice(2).join(' ')}`,
    date,
    seconds: Math.round((Date.now() - start) / 1000),
    versions: vers,
    selection: { paths: opt.paths, skipThroughput: opt.skipThroughput, files: selection.length, cases: nCases },
    aborted: tester.aborted,
    testerReport: tester.log.report,
    totals: count(cases),
    categories: categories(cases),
    files: selection.map((f) => ({ file: f.file, title: f.title, ...count(cases.filter((c) => c.file === f.file)) })),
    cases,
  };
  writeFileSync(join(opt.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  if (opt.writeDocs) writeDocs(results);

  console.log(`\n${summarize(results)}`);
  if (tester.aborted) console.log(`\n${tester.aborted}`);
  console.log(`\nresults: ${join(opt.out, 'results.json')}${opt.writeDocs ? `; docs: ${relative(ROOT, DOCS)}` : ''}`);
  return results.totals.ok === results.totals.total ? 0 : 1;
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    const msg = err instanceof UsageError ? `${err.message}\n\n${USAGE}` : err instanceof Error ? err.message : String(err);
    console.error(`ryu-switch-test: ${msg}`);
    process.exit(2);
  },
);
