// tsof-switch: runs an OpenFlow 1.3 switch over the native datapath until
// SIGINT or SIGTERM, or, with a verb first (add-port, del-port, list-ports,
// trace), asks a running one over its control socket. trace takes a frame in hex
// or a flow in ovs-ofctl's syntax, from which it composes the frame here
// (src/controller/packet/compose.ts) to send it as hex. bin/tsof-switch.js registers
// tsx and calls main(); exit codes: 0 done, 1 runtime failure, 2 bad usage.

import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { composeFlow } from '../controller/packet/index.ts';
import { toHex } from '../openflow/codec/index.ts';
import { switchMetrics } from '../switch/metrics.ts';
import type { ControlRequest } from '../switch/control.ts';
import { bridgePath, controlRequest, defaultControlPath, isBridgeName, parseTarget, TsofSwitch, type FailMode, type Target } from '../switch/index.ts';
import { cliLogger, parseDaemonArgs, serveMetrics, stopSignal, UsageError } from './daemon.ts';

const USAGE = `usage: tsof-switch [OPTIONS]                     run a switch
       tsof-switch --ctl PATH add-port IFACE[=PORT]   attach an interface to a running switch
       tsof-switch --ctl PATH del-port IFACE|PORT     detach a port
       tsof-switch --ctl PATH list-ports              (--name NAME or --dpid ID find PATH too)
       tsof-switch --ctl PATH trace IN_PORT HEXFRAME  how the switch would handle this frame from port IN_PORT
                                                (a number or an interface name), changing nothing
       tsof-switch --ctl PATH trace FLOW              ... a frame composed from FLOW in ovs-ofctl's syntax, one
                                                argument with in_port: 'in_port=1,tcp,nw_dst=10.0.0.2,tp_dst=80'

Runs an OpenFlow 1.3 switch over tsof's native datapath (as root, on Linux).
  --dpid ID               datapath id, hex (0x1, 0000000000000001); default: from the first port's MAC
  --name NAME             a bridge name: also serve tools on /run/tsof/NAME.mgmt (tsof-ofctl NAME, as
                          ovs-ofctl BR) and copy the controllers' messages to /run/tsof/NAME.snoop
                          (tsof-ofctl snoop NAME); the control socket is /run/tsof/NAME.ctl
  --port IFACE[=PORT]     attach a Linux interface as OpenFlow port PORT (default: the next free number);
                          repeat for each port
  --controller TARGET     a controller: connect to it, tcp:HOST[:PORT] or ssl:HOST[:PORT] (port 6653 if not
                          given), or let it connect, ptcp:[PORT][:IP] or pssl:[PORT][:IP]; repeat for several
  --listen TARGET         accept tools such as ovs-ofctl: ptcp:[PORT][:IP] or pssl:[PORT][:IP]; as Open vSwitch's
                          management socket, these are not controllers for the fail mode and get asynchronous
                          messages only after setting a nonzero miss_send_len
  --fail-mode MODE        standalone (default: with no controller, forward as a learning switch) or secure
                          (with no controller, only the flows already installed)
  --private-key FILE      for ssl: and pssl: (PEM), with --certificate and --ca-cert:
  --certificate FILE        this switch's certificate
  --ca-cert FILE            the CA that controllers' certificates must be signed by
  --ctl PATH              control socket (default /run/tsof/NAME.ctl, or /run/tsof/tsof-switch-DPID.ctl)
  --inactivity-probe MS   echo a silent controller after MS, drop it after 2*MS (default 5000)
  --max-backoff MS        longest wait between attempts to reach a controller (default 8000)
  --max-connections N     passive connections (listeners, ptcp: controllers) served at once; more are
                          refused (default 64)
  --max-backlog BYTES     bytes unsent to a connection above which its input is left unread until they
                          drain; a peer that reads nothing is dropped after 2*--inactivity-probe
                          (default 262144, at least 65536)
  --packet-in-rate N      packet-ins per second per controller (default 0: no limit) ...
  --packet-in-burst N     ... and the burst above it (default: the rate)
  --datapath-nice=N       the datapath thread's nice value, -20 to 19 (default -10, as ovs-ctl runs
                          ovs-vswitchd): forwarding goes ahead of the OpenFlow side on a busy host
  --dp-desc TEXT          the description controllers read (OFPMP_DESC dp_desc)
  --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics (ports, tables, datapath,
                          packet-ins, connections; PORT alone: 127.0.0.1)
  --log-level LEVEL       trace, debug, info, warn, error or fatal (default info)
  --json                  log JSON lines (pino) instead of text
  -h, --help              show this help`;

const VERBS = ['add-port', 'del-port', 'list-ports', 'trace'];

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
  return +text;
}

function parseDpid(text: string): bigint {
  const hex = text.replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) throw new UsageError(`--dpid must be up to 16 hex digits, got "${text}"`);
  return BigInt(`0x${hex}`);
}

/** IFACE or IFACE=PORT, the port an OpenFlow port number (1 to 0xffffff00). */
function parsePortArg(text: string): { ifname: string; port: number } {
  const m = /^([^=\s/]{1,15})(?:=(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`--port takes IFACE or IFACE=PORT (an interface name of up to 15 characters), got "${text}"`);
  const port = m[2] === undefined ? 0 : +m[2];
  if (m[2] !== undefined && (port < 1 || port > 0xffffff00)) throw new UsageError(`--port ${text}: port numbers are 1 to 4294967040`);
  return { ifname: m[1], port };
}

function parseTargets(flag: string, texts: string[], kinds: string[]): Target[] {
  return texts.map((text) => {
    let t: Target;
    try {
      t = parseTarget(text);
    } catch (e) {
      throw new UsageError(`--${flag} ${(e as Error).message}`);
    }
    if (!kinds.includes(t.kind)) throw new UsageError(`--${flag} takes ${kinds.join(': or ')}: targets, got "${text}"`);
    return t;
  });
}

function options(argv: string[]) {
  const { values: v, positionals, level, json, metrics, help } = parseDaemonArgs(argv, {
    dpid: { type: 'string' },
    name: { type: 'string' },
    port: { type: 'string', multiple: true },
    controller: { type: 'string', multiple: true },
    listen: { type: 'string', multiple: true },
    'fail-mode': { type: 'string' },
    'private-key': { type: 'string' },
    certificate: { type: 'string' },
    'ca-cert': { type: 'string' },
    ctl: { type: 'string' },
    'inactivity-probe': { type: 'string' },
    'max-backoff': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-backlog': { type: 'string' },
    'packet-in-rate': { type: 'string' },
    'packet-in-burst': { type: 'string' },
    'dp-desc': { type: 'string' },
    'datapath-nice': { type: 'string' },
  });
  const failMode = v['fail-mode'] ?? 'standalone';
  if (failMode !== 'secure' && failMode !== 'standalone') throw new UsageError(`--fail-mode must be secure or standalone, got "${failMode}"`);
  if (positionals.length && !VERBS.includes(positionals[0])) {
    throw new UsageError(`unknown command "${positionals[0]}" (commands: ${VERBS.join(', ')})`);
  }
  const targets = [
    ...parseTargets('controller', v.controller ?? [], ['tcp', 'ssl', 'ptcp', 'pssl']),
    ...parseTargets('listen', v.listen ?? [], ['ptcp', 'pssl']).map((t) => ({ ...t, service: true })),
  ];
  const tlsFiles = [v['private-key'], v.certificate, v['ca-cert']];
  if (tlsFiles.some((f) => f !== undefined) && tlsFiles.some((f) => f === undefined)) {
    throw new UsageError('--private-key, --certificate and --ca-cert go together');
  }
  if (targets.some((t) => t.kind === 'ssl' || t.kind === 'pssl') && tlsFiles[0] === undefined) {
    throw new UsageError('ssl: and pssl: targets need --private-key, --certificate and --ca-cert');
  }
  if (v.name !== undefined && !isBridgeName(v.name)) {
    throw new UsageError(`--name must start with a letter and hold only letters, digits, '_', '.' and '-', got "${v.name}"`);
  }
  const probe = integer('inactivity-probe', v['inactivity-probe'], 5000);
  if (probe < 100) throw new UsageError(`--inactivity-probe must be at least 100 ms, got ${probe}`);
  const rate = integer('packet-in-rate', v['packet-in-rate'], 0);
  const maxConnections = integer('max-connections', v['max-connections'], 64);
  if (maxConnections < 1) throw new UsageError('--max-connections must be at least 1');
  // Over the socket's 16 KiB high-water mark with room to spare, so that a backlog this big ends in 'drain'.
  const maxBacklog = integer('max-backlog', v['max-backlog'], 256 * 1024);
  if (maxBacklog < 65536) throw new UsageError(`--max-backlog must be at least 65536 bytes, got ${maxBacklog}`);
  const nice = v['datapath-nice'];
  if (nice !== undefined && (!/^-?\d+$/.test(nice) || +nice < -20 || +nice > 19)) {
    throw new UsageError(`--datapath-nice must be a whole number from -20 to 19, got "${nice}"`);
  }
  return {
    help,
    verb: positionals[0],
    verbArgs: positionals.slice(1),
    dpid: v.dpid === undefined ? undefined : parseDpid(v.dpid),
    ports: (v.port ?? []).map(parsePortArg),
    targets,
    failMode: failMode as FailMode,
    tls: tlsFiles[0] === undefined ? undefined : { key: tlsFiles[0], cert: tlsFiles[1]!, ca: tlsFiles[2]! },
    name: v.name,
    ctl: v.ctl ?? (v.name === undefined ? undefined : bridgePath(v.name, 'ctl')),
    probe,
    maxBackoff: integer('max-backoff', v['max-backoff'], 8000),
    maxConnections,
    maxBacklog,
    rate,
    burst: integer('packet-in-burst', v['packet-in-burst'], rate),
    dpDesc: v['dp-desc'],
    // Unset: TsofSwitch's default.
    datapathNice: nice === undefined ? undefined : +nice,
    level,
    json,
    metrics,
  };
}

/** The first port's MAC as a 48-bit datapath id, as Open vSwitch takes the bridge's. */
function dpidFromPort(ifname: string): bigint {
  const mac = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  return BigInt(`0x${mac.replace(/:/g, '')}`);
}

/**
 * trace's request: IN_PORT and the frame in hex, which may come in several words (as tools print
 * it), or a flow alone, whose frame is composed here and shown in the trace.
 */
function traceRequest(args: string[]): ControlRequest {
  const [first, ...rest] = args;
  const usage = "trace needs IN_PORT (a number or an interface name) and the frame in hex, or a flow in one argument ('in_port=1,tcp,...')";
  if (rest.length) {
    if (first.includes('=')) throw new UsageError(`${usage}: quote the flow`);
    return { cmd: 'trace', port: first, frame: rest.join('') };
  }
  if (!first || /^\d+$/.test(first)) throw new UsageError(usage);
  const r = composeFlow(first);
  if (!r.ok) throw new Error(`trace: bad flow: ${r.error}`);
  if (r.value.inPort === undefined) throw new Error('trace: the flow needs in_port=PORT (a number): the port the frame arrives on');
  return { cmd: 'trace', port: String(r.value.inPort), frame: toHex(r.value.frame), showFrame: true };
}

async function runVerb(opts: ReturnType<typeof options>): Promise<number> {
  if (!opts.ctl && opts.dpid === undefined) throw new UsageError(`${opts.verb} needs --ctl PATH, --name NAME or --dpid ID to find the switch`);
  const path = opts.ctl ?? defaultControlPath(opts.dpid!);
  const [arg] = opts.verbArgs;
  let reply;
  if (opts.verb === 'add-port') {
    if (!arg) throw new UsageError('add-port needs IFACE[=PORT]');
    const { ifname, port } = parsePortArg(arg);
    reply = await controlRequest(path, { cmd: 'add-port', ifname, port });
  } else if (opts.verb === 'del-port') {
    if (!arg) throw new UsageError('del-port needs an interface name or a port number');
    reply = await controlRequest(path, { cmd: 'del-port', port: arg });
  } else if (opts.verb === 'trace') {
    reply = await controlRequest(path, traceRequest(opts.verbArgs));
  } else {
    reply = await controlRequest(path, { cmd: 'list-ports' });
  }
  if (!reply.ok) {
    process.stderr.write(`tsof-switch: ${opts.verb}: ${reply.error}\n`);
    return 1;
  }
  if (reply.text !== undefined) process.stdout.write(reply.text);
  else if (reply.ports) for (const p of reply.ports) process.stdout.write(`${p.port}\t${p.name}\n`);
  else if (reply.port !== undefined) process.stdout.write(`${reply.port}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = options(argv);
    if (opts.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (opts.verb) return await runVerb(opts);
    if (opts.dpid === undefined && opts.ports.length === 0) throw new UsageError('give --dpid, or a --port to take the datapath id from');
  } catch (e) {
    if (!(e instanceof UsageError)) {
      process.stderr.write(`tsof-switch: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`tsof-switch: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const log = cliLogger('tsof-switch', opts.level, opts.json);
  let sw: TsofSwitch;
  let metricsServer: Server | undefined;
  try {
    const dpid = opts.dpid ?? dpidFromPort(opts.ports[0].ifname);
    const tls = opts.tls && { key: readFileSync(opts.tls.key), cert: readFileSync(opts.tls.cert), ca: readFileSync(opts.tls.ca) };
    sw = new TsofSwitch({
      dpid,
      ports: opts.ports,
      targets: opts.targets,
      tls,
      failMode: opts.failMode,
      log,
      controlPath: opts.ctl ?? defaultControlPath(dpid),
      name: opts.name,
      dpDesc: opts.dpDesc,
      inactivityProbe: opts.probe,
      maxBackoff: opts.maxBackoff,
      maxConnections: opts.maxConnections,
      maxBacklog: opts.maxBacklog,
      packetInRate: opts.rate,
      packetInBurst: opts.burst,
      datapathNice: opts.datapathNice,
    });
    await sw.start(); // stops what it started when it fails
  } catch (err) {
    log.fatal({ err }, 'cannot start the switch');
    return 1;
  }
  try {
    if (opts.metrics) metricsServer = await serveMetrics(switchMetrics(sw.agent), opts.metrics, log);
  } catch (err) {
    log.fatal({ err }, 'cannot serve metrics');
    await sw.stop();
    return 1;
  }
  const signal = await stopSignal();
  log.info({ signal }, 'stopping');
  metricsServer?.close();
  await sw.stop();
  return 0;
}
