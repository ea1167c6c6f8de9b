// tsof-ofctl: an ovs-ofctl-shaped command line for any OpenFlow 1.3 switch
// (tsof-switch, Open vSwitch) and for the tsof codec.
//
// The switch verbs (show, dump-ports, ...) connect as an active client, as
// ovs-ofctl does, over the shared OpenFlow Channel, send ovs-ofctl's requests
// with ovs-ofctl's xids, and print every reply message (each part of a multipart
// reply, as it arrives) with formatMessage(), whose text for these messages is
// ovs-ofctl's own (codec/print.ts). An OFPT_ERROR from the switch is printed the
// same way, by name with the request it answers, as ovs-ofctl prints it.
// `ofp-print HEX` cuts bytes into messages with the Framer and prints each; a
// message that does not decode is reported as the OFPT_ERROR a peer would get,
// with a hex dump marking the offset.
// `snoop` prints the copies a tsof-switch (--name) sends to NAME.snoop of what it
// and its controllers say, on a bare socket so that copied echoes print too.
// The flow, group and meter verbs read ovs-ofctl's syntax with the codec's
// text.ts and send each change followed by a barrier, as ovs-ofctl does, so the
// switch's OFPT_ERROR is seen and ends the run.
// Exit status: 0 when the command did its work (a switch's OFPT_ERROR to a dump
// included, as in ovs-ofctl), 1 for undecodable or unreadable input, a line not
// in the syntax, a change the switch refused or a switch that cannot be reached,
// 2 for a usage error (bad option, unknown command, wrong arguments) and for
// diff-flows sources that differ.

import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Channel, type Outgoing, type RequestType } from '../openflow/channel/index.ts';
import { bridgePath, isBridgeName } from '../switch/mgmt.ts';
import {
  decodeMessage,
  encodeMessage,
  ERR,
  errorCodeName,
  errorTypeName,
  formatActions,
  formatFlowStats,
  formatInstructions,
  formatMatch,
  formatMessage,
  Framer,
  fromHex,
  hexDump,
  OFP_NO_BUFFER,
  OFP_TCP_PORT,
  OFP_VERSION,
  OFPFC,
  OFPFF,
  OFPG,
  OFPM,
  OFPMPF_MORE,
  OFPP,
  OFPBCT,
  OFPBF,
  ONF_EXPERIMENTER,
  ONFT,
  encodeBundleAdd,
  encodeBundleControl,
  errorName,
  parseActions,
  parseFlow,
  parseGroup,
  parseMeter,
  type FlowMod,
  type FlowModCommand,
  type FlowStats,
  type GroupModCommand,
  type Message,
  type MessageOf,
  type OfErrorCode,
  type TextResult,
} from '../openflow/codec/index.ts';
import { FeaturesError, TableFeaturesText } from '../openflow/codec/print.ts';

const PROG = 'tsof-ofctl';

const USAGE = `${PROG}: OpenFlow 1.3 utility of the tsof library
usage: ${PROG} [OPTIONS] COMMAND [ARG...]

Switch commands (TARGET: tcp:HOST[:PORT], unix:PATH, or the name of a local
tsof-switch bridge, its socket /run/tsof/NAME.mgmt):
  show TARGET                 features, ports and configuration
  dump-ports TARGET [PORT]    port counters (PORT: a number, LOCAL, ...)
  dump-ports-desc TARGET      port descriptions
  dump-tables TARGET          table counters
  dump-table-features TARGET  what each table can match and do
  dump-group-features TARGET  group table capabilities
  dump-group-stats TARGET [group_id=GROUP]
                              group counters (GROUP: a number or ALL)
  meter-stats TARGET [meter=METER]
                              meter counters (METER: a number or all)
  meter-features TARGET       meter capabilities
  get-frags TARGET            IP fragment handling
  set-frags TARGET MODE       set it: normal, drop or reassemble
  monitor TARGET [MISSLEN]    print asynchronous messages as they arrive (to
                              standard error, as ovs-ofctl); MISSLEN sets
                              miss_send_len first, so that packet-ins come
  snoop TARGET                every message between the switch and its
                              controllers (to standard error); TARGET a bridge
                              name (its NAME.snoop socket) or unix:PATH
  queue-stats TARGET [PORT [QUEUE]]
                              queue counters

Flow, group and meter commands (FLOW, GROUP, METER in ovs-ofctl's syntax; FILE
has one a line, '#' comments, '-' for standard input):
  add-flow TARGET FLOW        add a flow ('-' for FLOWs from standard input)
  add-flows TARGET FILE       add flows (a line may start with add, modify,
                              modify_strict, delete or delete_strict)
  mod-flows TARGET FLOW       change the actions of matching flows (--strict)
  del-flows TARGET [FLOW]     delete matching flows, all without FLOW (--strict)
  dump-flows TARGET [FLOW]    print matching flows (--no-stats: as add-flows
                              reads them; --sort, --rsort: by priority)
  dump-aggregate TARGET [FLOW]
                              their packet, byte and flow counts
  replace-flows TARGET FILE   make the switch's flows those of FILE
  diff-flows SOURCE1 SOURCE2  the differences between two switches or files
                              (exit status 2 when there are some)
  add-group TARGET GROUP      add-groups TARGET FILE      mod-group TARGET GROUP
  del-groups TARGET [GROUP]   dump-groups TARGET [GROUP]
  add-meter TARGET METER      mod-meter TARGET METER
  del-meters TARGET [METER]   dump-meters TARGET [METER]
  packet-out TARGET "in_port=PORT packet=HEX actions=ACTIONS"
                              send a frame through the switch's pipeline

Other commands:
  ofp-print HEX [VERBOSITY]   decode and print the OpenFlow messages in HEX
                              (whitespace and 0x prefixes allowed; several
                              messages back to back print one per line)
  ofp-print - [VERBOSITY]     the same, reading the hex from standard input

Options:
  -O, --protocols P  OpenFlow versions to use: OpenFlow13 is the only one
  --strict       mod-flows, del-flows: the priority and match exactly
  --bundle       flow and group changes as one atomic bundle (ONF's extension
                 for OpenFlow 1.3): all of them take effect, or none
  --no-stats     dump-flows: no counters, as add-flows reads flows
  --sort, --rsort  dump-flows: by priority, ascending or descending
  --file FILE    ofp-print reads hex from FILE ('-' for standard input)
  --raw FILE     ofp-print reads binary from FILE ('-' for standard input)
  -m, --more     monitor, snoop: more detail, once per -m (a frame's bytes
                 after its summary), as in ovs-ofctl
  -h, --help     show this help and exit
  -V, --version  show the version and exit

VERBOSITY is ovs-ofctl's (2 by default): 3 or more adds a frame's bytes after
its summary, 5 or more a hex dump of every message.
Exit status: 0 all decoded or done, 1 a message did not decode, input was
unreadable or not in the syntax, or the switch refused a change, 2 usage
error (and diff-flows: the sources differ).`;

const OPTIONS = {
  protocols: { type: 'string', short: 'O' },
  file: { type: 'string' },
  raw: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  strict: { type: 'boolean' },
  bundle: { type: 'boolean' },
  'no-stats': { type: 'boolean' },
  sort: { type: 'boolean' },
  rsort: { type: 'boolean' },
  more: { type: 'boolean', short: 'm', multiple: true },
} as const;

/** A mistake in how the command was called: reported with exit status 2. */
class UsageError extends Error {}
/** Input that cannot be read or is not hex: reported with exit status 1. */
class InputError extends Error {}

type Options = {
  file?: string;
  raw?: string;
  protocols?: string;
  strict?: boolean;
  bundle?: boolean;
  'no-stats'?: boolean;
  sort?: boolean;
  rsort?: boolean;
  more?: boolean[];
};

/** ovs-ofctl prints what a switch sends at verbosity 2, one more for each -m (codec/print.ts). */
const verbosity = (opts: Options) => 2 + (opts.more?.length ?? 0);

interface Command {
  args: string;
  max: number;
  run(args: string[], opts: Options): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'ofp-print': { args: 'HEX [VERBOSITY]', max: 2, run: ofpPrint },
  show: { args: 'TARGET', max: 1, run: switchVerb(show) },
  'dump-ports': { args: 'TARGET [PORT]', max: 2, run: switchVerb(dumpPorts) },
  'dump-ports-desc': { args: 'TARGET [PORT]', max: 2, run: switchVerb((c) => c.dump({ type: 'port_desc_request' })) },
  'dump-tables': { args: 'TARGET', max: 1, run: switchVerb((c) => c.dump({ type: 'table_stats_request' })) },
  'dump-table-features': { args: 'TARGET', max: 1, run: switchVerb(dumpTableFeatures) },
  'dump-group-features': { args: 'TARGET', max: 1, run: switchVerb((c) => c.dump({ type: 'group_features_request' })) },
  'dump-group-stats': { args: 'TARGET [group_id=GROUP]', max: 2, run: switchVerb(dumpGroupStats) },
  'meter-stats': { args: 'TARGET [meter=METER]', max: 2, run: switchVerb(meterStats) },
  'meter-features': { args: 'TARGET', max: 1, run: switchVerb((c) => c.dump({ type: 'meter_features_request' })) },
  'get-frags': { args: 'TARGET', max: 1, run: switchVerb(getFrags) },
  'set-frags': { args: 'TARGET MODE', max: 2, run: switchVerb(setFrags) },
  monitor: { args: 'TARGET [MISSLEN]', max: 2, run: switchVerb(monitor) },
  snoop: { args: 'TARGET', max: 1, run: snoop },
  'queue-stats': { args: 'TARGET [PORT [QUEUE]]', max: 3, run: switchVerb(queueStats) },
  'add-flow': { args: 'TARGET FLOW', max: 2, run: flowMods('add', 'flow') },
  'add-flows': { args: 'TARGET FILE', max: 2, run: flowMods('add', 'file') },
  'mod-flows': { args: 'TARGET FLOW', max: 2, run: flowMods('modify', 'flow') },
  'del-flows': { args: 'TARGET [FLOW]', max: 2, run: flowMods('delete', 'optional') },
  'dump-flows': { args: 'TARGET [FLOW]', max: 2, run: dumpFlows(false) },
  'dump-aggregate': { args: 'TARGET [FLOW]', max: 2, run: dumpFlows(true) },
  'replace-flows': { args: 'TARGET FILE', max: 2, run: replaceFlows },
  'diff-flows': { args: 'SOURCE1 SOURCE2', max: 2, run: diffFlows },
  'add-group': { args: 'TARGET GROUP', max: 2, run: groupMods('add', 'flow') },
  'add-groups': { args: 'TARGET FILE', max: 2, run: groupMods('add', 'file') },
  'mod-group': { args: 'TARGET GROUP', max: 2, run: groupMods('modify', 'flow') },
  'del-groups': { args: 'TARGET [GROUP]', max: 2, run: groupMods('delete', 'optional') },
  'dump-groups': { args: 'TARGET [GROUP]', max: 2, run: switchVerb(dumpGroups) },
  'add-meter': { args: 'TARGET METER', max: 2, run: meterMod('add') },
  'mod-meter': { args: 'TARGET METER', max: 2, run: meterMod('modify') },
  'del-meters': { args: 'TARGET [METER]', max: 2, run: meterMod('delete') },
  'del-meter': { args: 'TARGET [METER]', max: 2, run: meterMod('delete') },
  'dump-meters': { args: 'TARGET [METER]', max: 2, run: switchVerb(dumpMeters) },
  'packet-out': { args: 'TARGET "in_port=PORT packet=HEX actions=ACTIONS"', max: Infinity, run: packetOut },
};

/** Parses argv and runs the command; returns the exit status. */
async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptions(argv);
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (values.version) {
      process.stdout.write(`${PROG} (tsof) ${packageVersion()}\n`);
      return 0;
    }
    const [name, ...args] = positionals;
    if (name === undefined) throw new UsageError(`missing command; use --help for help`);
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command '${name}'; use --help for help`);
    if (args.length > cmd.max) throw new UsageError(`'${name}' takes at most ${cmd.max} arguments (${name} ${cmd.args})`);
    checkProtocols(values.protocols);
    return await cmd.run(args, values);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof InputError)) throw e;
    process.stderr.write(`${PROG}: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/**
 * util.parseArgs in strict mode names the culprit only inside prose meant for
 * another program, so the tokens are checked here and each error names the flag.
 */
function parseOptions(argv: string[]) {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = (OPTIONS as Record<string, { type: string }>)[t.name];
    if (!spec) throw new UsageError(`unknown option '${t.rawName}'`);
    if (spec.type === 'boolean' && t.value !== undefined) throw new UsageError(`option '${t.rawName}' takes no value`);
    // A value that looks like another option means the real value was left out.
    if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && /^-./.test(t.value)))) {
      throw new UsageError(`option '${t.rawName}' needs a value`);
    }
  }
  return { values: values as Options & { help?: boolean; version?: boolean }, positionals };
}

/** -O names the OpenFlow versions allowed, as ovs-ofctl takes them; tsof speaks 1.3 only, so it must be among them. */
function checkProtocols(p: string | undefined): void {
  if (p === undefined) return;
  const names = p.split(',').map((v) => v.trim());
  const known = /^OpenFlow1[0-5]$/;
  const bad = names.find((v) => !known.test(v));
  if (bad !== undefined) throw new UsageError(`-O: unknown OpenFlow version '${bad}' (tsof speaks OpenFlow13)`);
  if (!names.includes('OpenFlow13')) throw new UsageError(`-O ${p}: tsof-ofctl speaks only OpenFlow13`);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// ---- ofp-print ---------------------------------------------------------------------

async function ofpPrint(args: string[], opts: Options): Promise<number> {
  if (opts.file !== undefined && opts.raw !== undefined) throw new UsageError(`use either --file or --raw, not both`);
  let hexText: string | undefined;
  if (opts.file === undefined && opts.raw === undefined) {
    hexText = args.shift();
    if (hexText === undefined) throw new UsageError(`'ofp-print' needs HEX (or '-', --file FILE, --raw FILE)`);
  }
  if (args.length > 1) throw new UsageError(`'ofp-print' with --file or --raw takes only [VERBOSITY]`);
  const verbosity = args.length ? parseVerbosity(args[0]) : 2;

  let bytes: Uint8Array;
  if (opts.raw !== undefined) bytes = await readInput(opts.raw);
  else {
    const source = hexText === '-' ? '-' : opts.file;
    bytes = parseHex(source === undefined ? hexText! : new TextDecoder().decode(await readInput(source)));
  }
  if (bytes.length === 0) throw new InputError('no bytes to decode');
  return printMessages(bytes, verbosity);
}

function parseVerbosity(s: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`VERBOSITY must be a non-negative integer, got '${s}'`);
  return Number(s);
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return path === '-' ? await buffer(process.stdin) : readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path === '-' ? 'standard input' : path}: ${(e as Error).message}`);
  }
}

/**
 * Hex as ovs-ofctl takes it: pairs of digits, with any whitespace between them,
 * plus a 0x before any group. The error says where the text stops being hex.
 */
function parseHex(text: string): Uint8Array {
  let digits = '';
  for (const m of text.matchAll(/\S+/g)) {
    const group = m[0].replace(/^0x/i, '');
    const bad = group.search(/[^0-9a-fA-F]/);
    if (bad >= 0) {
      const at = m.index! + m[0].length - group.length + bad;
      throw new InputError(`not hex: '${text[at]}' at character ${at + 1} of the input`);
    }
    digits += group;
  }
  if (digits.length % 2) throw new InputError(`odd number of hex digits (${digits.length}): the last byte is incomplete`);
  return fromHex(digits);
}

/** Prints one line per message; returns 1 if any did not decode. */
function printMessages(bytes: Uint8Array, verbosity: number): number {
  const framer = new Framer();
  const out: string[] = [];
  let status = 0;
  let used = 0;
  const fail = (error: OfErrorCode, offset: number, detail: string, msg: Uint8Array) => {
    out.push(`OFPT_ERROR-worthy: ${errorCodeName(error.type, error.code)} (${errorTypeName(error.type)}) at offset ${offset}: ${detail}`);
    out.push(hexDump(msg, offset));
    status = 1;
  };
  for (const frame of framer.push(bytes)) {
    // A length under 8 cannot frame the rest: show that header and stop.
    if (!frame.ok && frame.fatal) {
      fail(frame.error, 2, frame.detail, bytes.subarray(used, used + 8));
      break;
    }
    // A non-fatal frame (wrong version) is a whole message; decodeMessage names the fault.
    const msg = frame.bytes!;
    used += msg.length;
    const r = decodeMessage(msg);
    if (!r.ok) {
      fail(r.error, r.offset, r.detail, msg);
      continue;
    }
    out.push(formatMessage(r.msg, verbosity));
    if (verbosity >= 5) out.push(hexDump(msg));
  }
  // Bytes the framer still holds are a message cut short (none after a fatal frame);
  // the mark goes where the input ran out.
  if (framer.buffered > 0) {
    const tail = bytes.subarray(used);
    const detail =
      tail.length >= 4
        ? `message cut short: its header says ${(tail[2] << 8) | tail[3]} bytes, the input has ${tail.length}`
        : `input ends ${tail.length} bytes into a message header`;
    fail(ERR.BAD_REQUEST.BAD_LEN, tail.length, detail, tail);
  }
  process.stdout.write(out.join('\n') + '\n');
  return status;
}

// ---- the switch verbs ----------------------------------------------------------------

type Endpoint = { path: string } | { host: string; port: number };

/**
 * A target as ovs-ofctl takes it: tcp:HOST[:PORT] (6653 by default), unix:PATH, or a bridge
 * name: a local tsof-switch's /run/tsof/NAME.mgmt (NAME.snoop to snoop), as ovs-vswitchd's
 * /var/run/openvswitch/BR.mgmt.
 */
function parseTarget(target: string, socket: 'mgmt' | 'snoop' = 'mgmt'): Endpoint {
  if (target.startsWith('tcp:')) {
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(target.slice(4));
    const port = m?.[2] === undefined ? OFP_TCP_PORT : Number(m[2]);
    if (!m || port < 1 || port > 65535) throw new UsageError(`${target}: bad target (tcp:HOST[:PORT])`);
    return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
  }
  if (target.startsWith('unix:') && target.length > 5) return { path: target.slice(5) };
  if (isBridgeName(target)) {
    // A tsof-switch's bridge, else an Open vSwitch one (as ovs-ofctl finds it).
    const path = bridgePath(target, socket);
    const ovs = `${OVS_RUNDIR}/${target}.${socket}`;
    if (existsSync(path)) return { path };
    if (existsSync(ovs)) return { path: ovs };
    throw new InputError(`${target} is not a bridge or a socket (no ${path} or ${ovs})`);
  }
  throw new UsageError(`${target}: unknown target (tcp:HOST[:PORT], unix:PATH or a bridge name)`);
}

/** Where Open vSwitch keeps its bridges' sockets. */
const OVS_RUNDIR = '/var/run/openvswitch';

/** What the switch said (or did not say) that ends a verb with exit status 1. */
class SwitchError extends Error {}

const ERRNO: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
};

/**
 * One connection to a switch, numbered as ovs-ofctl numbers its messages: one
 * counter for the run, from 1, which its HELLO takes, so the first request is 2.
 */
class Session {
  xid = 2;
  private closed?: string;
  private readonly waiting = new Map<number, (m: Message) => void>();

  constructor(
    readonly ch: Channel,
    readonly target: string,
    /** How ovs-ofctl names the connection in its messages (a bridge by its socket). */
    readonly name: string,
  ) {
    ch.on('message', (m) => this.waiting.get(m.xid)?.(m));
    ch.on('close', (reason) => {
      this.closed = reason;
      for (const deliver of this.waiting.values()) deliver(undefined as never);
    });
  }

  static async open(target: string): Promise<Session> {
    const ep = parseTarget(target);
    const socket = 'path' in ep ? connect(ep.path) : connect(ep.port, ep.host);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new SwitchError(`${target}: failed to connect (${ERRNO[err.code ?? ''] ?? err.message})`);
    }
    const ch = new Channel(
      socket,
      { echoInterval: 5000, echoTimeout: 15000, requestTimeout: 10000, maxPendingRequests: 4, name: PROG },
      pino({ level: 'silent' }),
    );
    await new Promise<void>((resolve, reject) => {
      ch.once('open', resolve);
      ch.once('close', (reason) => reject(new SwitchError(`${target}: ${reason}`)));
    });
    return new Session(ch, target, 'path' in ep ? `unix:${ep.path}` : target);
  }

  /**
   * Sends a request and hands each message of its reply to `each` as it comes:
   * every part of a multipart reply, or the OFPT_ERROR that answers it.
   */
  private exchange(req: Outgoing<MessageOf<RequestType>>, each: (m: Message) => void): Promise<void> {
    const xid = this.xid++;
    return new Promise((resolve, reject) => {
      this.waiting.set(xid, (m) => {
        if (!m) return reject(new SwitchError(`${this.target}: ${this.closed}`));
        each(m);
        if (m.type === 'error' || !((m as { flags?: number }).flags! & OFPMPF_MORE)) {
          this.waiting.delete(xid);
          resolve();
        }
      });
      if (this.closed) return reject(new SwitchError(`${this.target}: ${this.closed}`));
      this.ch.send(req as Outgoing, xid);
    });
  }

  /** Hands each message of the reply to `each` as it comes, an OFPT_ERROR included. */
  receive(req: Outgoing<MessageOf<RequestType>>, each: (m: Message) => void): Promise<void> {
    return this.exchange(req, each);
  }

  /** ovs-ofctl's dump_transaction: prints the reply, an OFPT_ERROR included, as it comes. */
  dump(req: Outgoing<MessageOf<RequestType>>): Promise<void> {
    return this.exchange(req, (m) => process.stdout.write(formatMessage(m) + '\n'));
  }

  /** Every message of a (multipart) reply; an OFPT_ERROR is printed to stderr and ends the verb. */
  async collect(req: Outgoing<MessageOf<RequestType>>): Promise<Message[]> {
    const parts: Message[] = [];
    await this.exchange(req, (m) => parts.push(m));
    const error = parts.find((m) => m.type === 'error');
    if (error) {
      process.stderr.write(formatMessage(error) + '\n');
      throw new Exit(1);
    }
    return parts;
  }

  /**
   * ovs-ofctl's transact_noreply: the message, then a barrier, so that the switch's
   * OFPT_ERROR (if any) comes before the barrier's reply. The error goes to standard
   * error with the request it answers, and ends the run with status 1, as in ovs-ofctl.
   */
  async change(msg: Outgoing): Promise<void> {
    const xid = this.xid++;
    let error: Message | undefined;
    this.waiting.set(xid, (m) => (error ??= m));
    this.ch.send(msg, xid);
    try {
      await this.exchange({ type: 'barrier_request' }, () => {});
    } finally {
      this.waiting.delete(xid);
    }
    if (error) {
      process.stderr.write(formatMessage(error) + '\n');
      throw new Exit(1);
    }
  }

  /** Each change with change(), or all of them as one bundle with --bundle. */
  async changes(msgs: Outgoing[], opts: Options): Promise<void> {
    if (opts.bundle) return this.bundle(msgs);
    for (const m of msgs) await this.change(m);
  }

  /**
   * ovs-ofctl --bundle (its vconn_bundle_transact): the changes, numbered first,
   * added to bundle 0 after an OPEN, then a barrier, then COMMIT, or DISCARD
   * when the switch refused one as it was added. Every OFPT_ERROR prints as
   * ovs-ofctl's bundle_print_errors prints it, "Error NAME for: " and the
   * message it answers, and the run ends with status 1.
   */
  private async bundle(msgs: Outgoing[]): Promise<void> {
    const flags = OFPBF.ATOMIC | OFPBF.ORDERED;
    const onf = (expType: number, data: Uint8Array): Outgoing => ({ type: 'experimenter', experimenter: ONF_EXPERIMENTER, expType, data });
    const inner = msgs.map((m) => encodeMessage({ ...m, xid: this.xid++ } as Message));
    const errors: MessageOf<'error'>[] = [];
    const control = (ctrlType: number) =>
      this.exchange(onf(ONFT.BUNDLE_CONTROL, encodeBundleControl({ bundleId: 0, ctrlType, flags, properties: new Uint8Array(0) })) as never, (m) => {
        if (m.type === 'error') errors.push(m);
      });
    await control(OFPBCT.OPEN_REQUEST);
    if (!errors.length) {
      const xidOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(4);
      for (const b of inner) this.waiting.set(xidOf(b), (m) => m && m.type === 'error' && errors.push(m));
      for (const b of inner) this.ch.send(onf(ONFT.BUNDLE_ADD_MESSAGE, encodeBundleAdd({ bundleId: 0, flags, message: b })), xidOf(b));
      await this.exchange({ type: 'barrier_request' }, () => {});
      await control(errors.length ? OFPBCT.DISCARD_REQUEST : OFPBCT.COMMIT_REQUEST);
      // Commit's errors name the mod that failed before its own.
      for (const b of inner) this.waiting.delete(xidOf(b));
      if (!errors.length) return;
      for (const e of errors) {
        const answered = inner.find((b) => xidOf(b) === e.xid) ?? e.data;
        const decoded = decodeMessage(answered);
        const name = errorName({ type: e.errType, code: e.code, experimenter: e.experimenter }).split('/')[1];
        process.stderr.write(`Error ${name} for: ${decoded.ok ? formatMessage(decoded.msg, 1) : hexDump(answered)}\n`);
      }
    }
    throw new SwitchError(`talking to ${this.name} (Protocol error)`);
  }

  /** The reply, for a verb that uses it; an OFPT_ERROR is printed to stderr and ends the verb. */
  async transact<K extends RequestType>(req: Outgoing<MessageOf<K>>): Promise<Message> {
    let reply: Message | undefined;
    await this.exchange(req as Outgoing<MessageOf<RequestType>>, (m) => (reply = m));
    if (reply!.type === 'error') throw new SwitchError(`${this.target}: ${formatMessage(reply!)}`);
    return reply!;
  }

  close(): void {
    this.ch.close('done');
  }
}

type Verb = (s: Session, args: string[], opts: Options) => Promise<number | void>;

/** The end of a run whose reason has been printed already (a switch's OFPT_ERROR). */
class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

/** A verb that talks to the switch named by its first argument. */
function switchVerb(verb: Verb): Command['run'] {
  return async (args, opts) => {
    const [target, ...rest] = args;
    if (target === undefined) throw new UsageError(`missing TARGET (tcp:HOST[:PORT], unix:PATH or a bridge name)`);
    return withSession(target, (s) => verb(s, rest, opts));
  };
}

async function withSession(target: string, run: (s: Session) => Promise<number | void>): Promise<number> {
  let session: Session | undefined;
  try {
    session = await Session.open(target);
    return (await run(session)) ?? 0;
  } catch (e) {
    if (e instanceof Exit) return e.status;
    if (!(e instanceof SwitchError)) throw e;
    process.stderr.write(`${PROG}: ${e.message}\n`);
    return 1;
  } finally {
    session?.close();
  }
}

async function show(s: Session): Promise<void> {
  await s.dump({ type: 'features_request' });
  // OpenFlow 1.3 features replies carry no ports: ovs-ofctl asks for them.
  await s.dump({ type: 'port_desc_request' });
  // ovs-ofctl asks for the configuration on a second connection, whose HELLO takes an xid.
  s.xid++;
  await s.dump({ type: 'get_config_request' });
}

/**
 * ovs-ofctl's dump-table-features: the tables of every message of the reply as one text,
 * a table repeating the one before it ("ditto") across messages too, without the
 * messages' titles. A table ovs-ofctl would not decode ends the run as ovs-ofctl's does.
 */
async function dumpTableFeatures(s: Session): Promise<number> {
  const out = new TableFeaturesText();
  let bad: string | undefined;
  await s.receive({ type: 'table_features_request', tables: [] }, (m) => {
    if (bad) return;
    if (m.type === 'error') {
      process.stdout.write(formatMessage(m) + '\n');
    } else if (m.type === 'table_features_reply') {
      try {
        out.add(m.tables);
      } catch (e) {
        if (!(e instanceof FeaturesError)) throw e;
        bad = e.message;
      }
    }
  });
  if (bad) {
    process.stderr.write(`${PROG}: decode error: ${bad}\n`);
    return 1;
  }
  out.finish();
  process.stdout.write(out.text.replace(/^\n/, '') + '\n');
  return 0;
}

/** A port as ovs-ofctl takes it: a number or a reserved name (LOCAL, CONTROLLER...). */
function parsePort(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 0xff00 || (n >= OFPP.MAX && n <= OFPP.ANY)) return n;
    throw new UsageError(`port ${text} is out of range`);
  }
  const reserved = (PORT_NAMES as Record<string, number>)[text.toUpperCase()];
  if (reserved === undefined) throw new UsageError(`${text}: unknown port (a number or ${Object.keys(PORT_NAMES).join(', ')})`);
  return reserved;
}
const { MAX: _max, ...PORT_NAMES } = OFPP;

async function dumpPorts(s: Session, args: string[]): Promise<void> {
  await s.dump({ type: 'port_stats_request', portNo: args[0] === undefined ? OFPP.ANY : parsePort(args[0]) });
}

/** A `KEY=VALUE` argument (group_id=1, meter=all) with a number or one of `names`. */
function keyed(arg: string | undefined, key: string, names: Record<string, number>, otherwise: number): number {
  if (arg === undefined) return otherwise;
  const m = new RegExp(`^${key}=(.+)$`).exec(arg);
  if (!m) throw new UsageError(`'${arg}': expected ${key}=VALUE`);
  const named = names[m[1].toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(m[1]) || Number(m[1]) > 0xffffffff) throw new UsageError(`${key}=${m[1]}: not a number or ${Object.keys(names).join(', ')}`);
  return Number(m[1]);
}

async function dumpGroupStats(s: Session, args: string[]): Promise<void> {
  const groupId = keyed(args[0], 'group_id', { ALL: OFPG.ALL }, OFPG.ALL);
  // ovs-ofctl first fetches table features and port descriptions (for names), each on its
  // own connection, which takes xids 2 to 5: its group stats request is xid 6.
  s.xid = 6;
  await s.dump({ type: 'group_stats_request', groupId });
}

async function meterStats(s: Session, args: string[]): Promise<void> {
  await s.dump({ type: 'meter_stats_request', meterId: keyed(args[0], 'meter', { ALL: OFPM.ALL }, OFPM.ALL) });
}

const FRAGS = ['normal', 'drop', 'reassemble'];

async function getConfig(s: Session): Promise<MessageOf<'get_config_reply'>> {
  return (await s.transact({ type: 'get_config_request' })) as MessageOf<'get_config_reply'>;
}

async function getFrags(s: Session): Promise<void> {
  const config = await getConfig(s);
  process.stdout.write(`${FRAGS[config.flags & 3] ?? 'nx-match'}\n`);
}

/** As ovs-ofctl: set the mode if it differs, then read it back to see that the switch took it. */
async function setFrags(s: Session, args: string[]): Promise<void> {
  const mode = args[0] === undefined ? -1 : FRAGS.indexOf(args[0]);
  if (mode < 0) throw new UsageError(`'set-frags' needs MODE: ${FRAGS.join(', ')}`);
  const config = await getConfig(s);
  if ((config.flags & 3) === mode) return;
  s.ch.send({ type: 'set_config', flags: (config.flags & ~3) | mode, missSendLen: config.missSendLen }, s.xid++);
  await s.transact({ type: 'barrier_request' });
  if (((await getConfig(s)).flags & 3) !== mode) {
    throw new SwitchError(`${s.target}: setting fragment handling mode failed (this switch may not support all fragment handling modes)`);
  }
}

/**
 * Prints every message the switch sends, as it comes, to standard error as
 * ovs-ofctl does; MISSLEN first sets miss_send_len, without which a service
 * connection gets no packet-ins. Runs until the switch closes the connection.
 */
async function monitor(s: Session, args: string[], opts: Options): Promise<number> {
  if (args[0] !== undefined) {
    if (!/^\d+$/.test(args[0]) || Number(args[0]) > 0xffff) throw new UsageError(`${args[0]}: unsupported "monitor" argument (MISSLEN: 0 to 65535)`);
    const config = await getConfig(s);
    s.ch.send({ type: 'set_config', flags: config.flags, missSendLen: Number(args[0]) }, s.xid++);
    await s.transact({ type: 'barrier_request' });
  }
  s.ch.on('message', (m) => process.stderr.write(formatMessage(m, verbosity(opts)) + '\n'));
  const reason = await new Promise<string>((resolve) => s.ch.once('close', resolve));
  process.stderr.write(`${PROG}: ${s.target}: ${reason}\n`);
  return 1;
}

/**
 * ovs-ofctl snoop: after the HELLO exchange, the switch sends a copy of every message it
 * receives from or sends to its controllers; each is printed as it comes, to standard error
 * as ovs-ofctl prints them, echoes included. A bare socket, not a Channel: a Channel would
 * answer the copied echo requests and keep them from being printed.
 */
async function snoop(args: string[], opts: Options): Promise<number> {
  const [target] = args;
  if (target === undefined) throw new UsageError(`missing TARGET (a bridge name or unix:PATH)`);
  const ep = parseTarget(target, 'snoop');
  const socket = 'path' in ep ? connect(ep.path) : connect(ep.port, ep.host);
  socket.write(encodeMessage({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] }, 1));
  const framer = new Framer();
  let hello = false;
  socket.on('data', (chunk) => {
    for (const frame of framer.push(chunk)) {
      if (!frame.ok && frame.fatal) return socket.destroy(new Error(`unframeable input: ${frame.detail}`));
      const r = decodeMessage(frame.bytes!);
      // The switch's own HELLO opens the connection; what follows are copies.
      if (!hello && r.ok && r.msg.type === 'hello') hello = true;
      else if (r.ok) process.stderr.write(formatMessage(r.msg, verbosity(opts)) + '\n');
      else process.stderr.write(`${errorCodeName(r.error.type, r.error.code)}: ${r.detail}\n${hexDump(frame.bytes!, r.offset)}\n`);
    }
  });
  const reason = await new Promise<string>((resolve) => {
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(`${socket.readyState === 'opening' ? 'failed to connect' : 'connection failed'} (${ERRNO[e.code ?? ''] ?? e.message})`));
    socket.once('close', () => resolve('connection closed by the peer'));
  });
  process.stderr.write(`${PROG}: ${target}: ${reason}\n`);
  return 1;
}

// ---- flows, groups and meters ---------------------------------------------------------
// Lines are read with the codec's text syntax (text.ts); a mistake names the token, its
// position and why, and ends the run with status 1 before anything is sent, as
// ovs-ofctl's parse errors do. Changes go one at a time, each followed by a barrier
// (Session.change), so the first OFPT_ERROR stops the run as it stops ovs-ofctl.

/**
 * ovs-ofctl reads port and table names (for FLOW text) from the switch first, each on
 * a connection of its own whose HELLO and request take xids 2 to 5: its own first
 * request after that is xid 6. tsof takes no names, but numbers its requests the same.
 */
const AFTER_NAME_LOOKUP = 6;

/** A parse result's value, or the error as ovs-ofctl reports a parse error (exit status 1). */
function parsed<T>(r: TextResult<T>, where = ''): T {
  if (!r.ok) throw new InputError(`${where}${r.error.message}`);
  return r.value;
}

/** The lines of FILE ('-': standard input) with their numbers, '#' comments and blank lines left out. */
async function readLines(path: string): Promise<{ text: string; line: number }[]> {
  let text: string;
  try {
    text = new TextDecoder().decode(path === '-' ? await buffer(process.stdin) : readFileSync(path));
  } catch (e) {
    throw new InputError(`${path}: open failed (${ERRNO[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message})`);
  }
  return text
    .split('\n')
    .map((l, i) => ({ text: l.replace(/#.*/, ''), line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
}

/** In a file of changes a line may start with the command it is for (add when it does not). */
function commandWord<C extends string>(text: string, words: readonly C[], otherwise: C): { command: C; text: string } {
  const m = /^\s*([a-z_]+)(?=[\s,]|$)/.exec(text);
  const word = words.find((w) => w === m?.[1]);
  return word ? { command: word, text: text.slice(m![0].length) } : { command: otherwise, text };
}

const FLOW_COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];
const GROUP_COMMANDS: readonly GroupModCommand[] = ['add', 'modify', 'delete'];

/** The changes a verb's argument stands for: one line, a file ('-' for standard input), or nothing. */
async function changes<C extends string, M>(
  arg: string | undefined,
  form: 'flow' | 'file' | 'optional',
  command: C,
  words: readonly C[],
  parse: (text: string, command: C) => TextResult<M>,
): Promise<M[]> {
  if (form === 'file' || arg === '-') {
    const file = arg!;
    return (await readLines(file)).map((l) => {
      // As ovs-ofctl: add-flows and add-groups lines may name their command; others are the verb's.
      const c = command === 'add' ? commandWord(l.text, words, command) : { command, text: l.text };
      return parsed(parse(c.text, c.command), `${file}:${l.line}: `);
    });
  }
  return [parsed(parse(arg ?? '', command))];
}

function needArgs(name: string, args: string[], n: number, usage: string): void {
  if (args.length < n) throw new UsageError(`'${name}' needs ${usage}`);
}

function flowMods(base: 'add' | 'modify' | 'delete', form: 'flow' | 'file' | 'optional'): Command['run'] {
  const name = { add: form === 'file' ? 'add-flows' : 'add-flow', modify: 'mod-flows', delete: 'del-flows' }[base];
  return async (args, opts) => {
    needArgs(name, args, form === 'optional' ? 1 : 2, form === 'file' ? 'TARGET FILE' : 'TARGET FLOW');
    const command = (opts.strict && base !== 'add' ? `${base}_strict` : base) as FlowModCommand;
    const mods = await changes(args[1], form, command, FLOW_COMMANDS, (t, c) => parseFlow(t, { command: c }));
    return withSession(args[0], async (s) => {
      s.xid = AFTER_NAME_LOOKUP;
      await s.changes(mods, opts);
    });
  };
}

function groupMods(command: GroupModCommand, form: 'flow' | 'file' | 'optional'): Command['run'] {
  const name = { add: form === 'file' ? 'add-groups' : 'add-group', modify: 'mod-group', delete: 'del-groups' }[command];
  return async (args, opts) => {
    needArgs(name, args, form === 'optional' ? 1 : 2, form === 'file' ? 'TARGET FILE' : 'TARGET GROUP');
    const mods = await changes(args[1], form, command, GROUP_COMMANDS, (t, c) => parseGroup(t, { command: c }));
    return withSession(args[0], async (s) => {
      s.xid = AFTER_NAME_LOOKUP;
      await s.changes(mods, opts);
    });
  };
}

function meterMod(command: 'add' | 'modify' | 'delete'): Command['run'] {
  return async (args) => {
    needArgs(`${command}-meter`, args, command === 'delete' ? 1 : 2, 'TARGET METER');
    // del-meters without METER deletes them all.
    const mm = args[1] === undefined ? { type: 'meter_mod' as const, command: 2, flags: 0, meterId: OFPM.ALL, bands: [] } : parsed(parseMeter(args[1], { command }));
    return withSession(args[0], (s) => s.change(mm));
  };
}

async function dumpMeters(s: Session, args: string[]): Promise<void> {
  const meterId = args[0] === undefined ? OFPM.ALL : parsed(parseMeter(args[0], { command: 'delete' })).meterId;
  await s.dump({ type: 'meter_config_request', meterId });
}

/** An OpenFlow 1.3 group description request names no group: as with ovs-ofctl, GROUP is taken and every group dumped. */
async function dumpGroups(s: Session): Promise<void> {
  await s.dump({ type: 'group_desc_request' });
}

/** The flow stats request a dump-flows FLOW stands for: its table, cookie, out_port, out_group and match. */
function flowRequest(filter: string | undefined) {
  const fm = parsed(parseFlow(filter ?? '', { command: 'delete' }));
  const { tableId, outPort, outGroup, cookie, cookieMask, match } = fm;
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

function dumpFlows(aggregate: boolean): Command['run'] {
  return async (args, opts) => {
    needArgs(aggregate ? 'dump-aggregate' : 'dump-flows', args, 1, 'TARGET');
    const request = flowRequest(args[1]);
    return withSession(args[0], async (s) => {
      if (args[1]) s.xid = AFTER_NAME_LOOKUP;
      if (aggregate) return s.dump({ type: 'aggregate_stats_request', ...request });
      // As ovs-ofctl: the reply as it is printed, unless the flows are to be sorted or shown without counters.
      if (!opts['no-stats'] && !opts.sort && !opts.rsort) return s.dump({ type: 'flow_stats_request', ...request });
      const flows = await dumpAll(s, request);
      if (opts.sort) flows.sort((a, b) => a.priority - b.priority);
      if (opts.rsort) flows.sort((a, b) => b.priority - a.priority);
      for (const f of flows) process.stdout.write(` ${formatFlowStats(f, { stats: !opts['no-stats'] })}\n`);
    });
  };
}

async function dumpAll(s: Session, request = flowRequest(undefined)): Promise<FlowStats[]> {
  const parts = await s.collect({ type: 'flow_stats_request', ...request });
  return parts.flatMap((m) => (m.type === 'flow_stats_reply' ? m.stats : []));
}

// ---- replace-flows and diff-flows ---------------------------------------------------------

/** A flow as ovs-ofctl compares them: where it is (table, priority, match) and what it is. */
interface FlowVersion {
  key: string;
  tableId: number;
  priority: number;
  match: FlowMod['match'];
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  instructions: FlowMod['instructions'];
}

const versionOf = (f: Omit<FlowVersion, 'key'>): FlowVersion => ({ ...f, key: `${f.tableId} ${formatMatch(f.match, f.priority)}` });

/** ovs-ofctl's fte_version_equals: the actions compared as text. */
const sameVersion = (a: FlowVersion, b: FlowVersion) =>
  a.cookie === b.cookie &&
  a.idleTimeout === b.idleTimeout &&
  a.hardTimeout === b.hardTimeout &&
  a.tableId === b.tableId &&
  formatInstructions(a.instructions) === formatInstructions(b.instructions);

async function flowsOfFile(path: string): Promise<FlowVersion[]> {
  return (await readLines(path)).map((l) => {
    const fm = parsed(parseFlow(l.text), `${path}:${l.line}: `);
    // A file keeps send_flow_rem only, as ovs-ofctl does.
    return versionOf({ ...fm, tableId: fm.tableId === 0xff ? 0 : fm.tableId, flags: fm.flags & OFPFF.SEND_FLOW_REM });
  });
}

const flowsOfSwitch = async (s: Session) => (await dumpAll(s)).map((f) => versionOf({ ...f, flags: 0 }));

function toFlowMod(v: FlowVersion, command: number): Outgoing<FlowMod> {
  return {
    type: 'flow_mod',
    cookie: command === OFPFC.ADD ? v.cookie : 0n,
    cookieMask: 0n,
    tableId: v.tableId,
    command,
    idleTimeout: v.idleTimeout,
    hardTimeout: v.hardTimeout,
    priority: v.priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: v.flags,
    match: v.match,
    instructions: command === OFPFC.ADD ? v.instructions : [],
  };
}

/** As ovs-ofctl: delete the switch's flows the file lacks, then add the file's flows the switch lacks or has otherwise. */
async function replaceFlows(args: string[], opts: Options): Promise<number> {
  needArgs('replace-flows', args, 2, 'TARGET FILE');
  const file = await flowsOfFile(args[1]);
  return withSession(args[0], async (s) => {
    s.xid = AFTER_NAME_LOOKUP;
    const current = new Map((await flowsOfSwitch(s)).map((v) => [v.key, v]));
    const wanted = new Map(file.map((v) => [v.key, v]));
    const tables = [...new Set([...current.values(), ...wanted.values()].map((v) => v.tableId))].sort((a, b) => a - b);
    const mods: Outgoing<FlowMod>[] = [];
    for (const t of tables) {
      for (const v of current.values()) if (v.tableId === t && !wanted.has(v.key)) mods.push(toFlowMod(v, OFPFC.DELETE_STRICT));
      for (const v of wanted.values()) {
        const old = current.get(v.key);
        if (v.tableId === t && (!old || !sameVersion(old, v))) mods.push(toFlowMod(v, OFPFC.ADD));
      }
    }
    await s.changes(mods, opts);
  });
}

/** A source of diff-flows: a file when it looks like a path (or names one), otherwise a switch. */
async function flowsOfSource(source: string, xid: number): Promise<FlowVersion[]> {
  if (source.startsWith('/') || source.startsWith('.') || (!source.includes(':') && existsSync(source))) return flowsOfFile(source);
  let flows: FlowVersion[] = [];
  const status = await withSession(source, async (s) => {
    s.xid = xid;
    flows = await flowsOfSwitch(s);
  });
  if (status) throw new Exit(status);
  return flows;
}

/** fte_version_format: how diff-flows shows one version of a flow. */
function formatVersion(v: FlowVersion): string {
  let s = v.tableId ? `table=${v.tableId} ` : '';
  s += formatMatch(v.match, v.priority);
  if (v.cookie) s += ` cookie=0x${v.cookie.toString(16)}`;
  if (v.idleTimeout) s += ` idle_timeout=${v.idleTimeout}`;
  if (v.hardTimeout) s += ` hard_timeout=${v.hardTimeout}`;
  return `${s} actions=${formatInstructions(v.instructions)}\n`;
}

/**
 * Prints each flow whose versions differ, "-" for SOURCE1's and "+" for SOURCE2's, by table
 * and then priority (ovs-ofctl goes in its classifier's order); exit status 2 if any differ.
 */
async function diffFlows(args: string[]): Promise<number> {
  needArgs('diff-flows', args, 2, 'SOURCE1 SOURCE2');
  try {
    const a = new Map((await flowsOfSource(args[0], 2)).map((v) => [v.key, v]));
    const b = new Map((await flowsOfSource(args[1], 4)).map((v) => [v.key, v]));
    const all = [...new Map([...a, ...b]).values()].sort((x, y) => x.tableId - y.tableId || y.priority - x.priority || (x.key < y.key ? -1 : 1));
    let differ = false;
    for (const v of all) {
      const va = a.get(v.key);
      const vb = b.get(v.key);
      if (va && vb && sameVersion(va, vb)) continue;
      if (va) process.stdout.write(`-${formatVersion(va)}`);
      if (vb) process.stdout.write(`+${formatVersion(vb)}`);
      differ = true;
    }
    return differ ? 2 : 0;
  } catch (e) {
    if (e instanceof Exit) return e.status;
    throw e;
  }
}

// ---- packet-out and queues ---------------------------------------------------------------

/**
 * `packet-out TARGET "in_port=PORT packet=HEX actions=ACTIONS"` (ovs-ofctl 3.1's form), or
 * its older `packet-out TARGET IN_PORT ACTIONS PACKET...`, one packet-out a frame.
 */
async function packetOut(args: string[]): Promise<number> {
  needArgs('packet-out', args, 2, 'TARGET "in_port=PORT packet=HEX actions=ACTIONS"');
  if (args.length === 3) throw new InputError(`Too many arguments (${args.length + 1})`);
  const outs: Outgoing<MessageOf<'packet_out'>>[] = [];
  if (args.length === 2) {
    outs.push(parsePacketOut(args[1]));
  } else {
    const actions = parsed(parseActions(args[2]));
    const inPort = portArg(args[1]);
    for (const frame of args.slice(3)) outs.push({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort, actions, data: frameHex(frame) });
  }
  return withSession(args[0], async (s) => {
    s.xid = AFTER_NAME_LOOKUP;
    for (const po of outs) await s.change(po);
  });
}

function portArg(text: string): number {
  try {
    return parsePort(text);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

function frameHex(text: string): Uint8Array {
  const bytes = parseHex(text);
  if (bytes.length < 14) throw new InputError(`packet=${text.slice(0, 40)}: a frame of ${bytes.length} bytes is shorter than an Ethernet header`);
  return bytes;
}

/** in_port=PORT packet=HEX actions=ACTIONS, the actions last (they run to the end of the line). */
function parsePacketOut(text: string): Outgoing<MessageOf<'packet_out'>> {
  const a = /(^|[\s,])actions=/.exec(text);
  if (!a) throw new InputError(`missing actions= in "${text.slice(0, 40)}"`);
  const actionsAt = a.index + a[0].length;
  let inPort: number = OFPP.CONTROLLER;
  let data: Uint8Array | undefined;
  for (const m of text.slice(0, a.index).matchAll(/[^\s,]+/g)) {
    const [key, value] = m[0].split(/=(.*)/s);
    if (key === 'in_port' && value) inPort = portArg(value);
    else if (key === 'packet' && value) data = frameHex(value);
    else throw new InputError(`unknown keyword "${m[0]}" at ${m.index}: packet-out takes in_port=, packet= and actions=`);
  }
  if (!data) throw new InputError(`missing packet= in "${text.slice(0, 40)}"`);
  const r = parseActions(text.slice(actionsAt));
  if (!r.ok) {
    // Positions count from the start of the argument.
    const e = r.error;
    throw new InputError(e.message.replace(`" at ${e.position}`, `" at ${e.position + actionsAt}`));
  }
  return { type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort, actions: r.value, data };
}

async function queueStats(s: Session, args: string[]): Promise<void> {
  const all = (a: string | undefined) => a === undefined || a === '' || a.toLowerCase() === 'all';
  const portNo = all(args[0]) ? OFPP.ANY : parsePort(args[0]);
  // As ovs-ofctl (atoi): a queue that is not a number is queue 0.
  const queueId = all(args[1]) ? 0xffffffff : Number.parseInt(args[1]!, 10) >>> 0 || 0;
  await s.dump({ type: 'queue_stats_request', portNo, queueId });
}

// A reader that closes the pipe early (| head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
