// Fuzzes tsof-switch's OpenFlow channel over real TCP: random and mutated
// messages (fast-check, from the codec's tables through test/support/arbitraries.ts)
// to a passive listener, each followed by a barrier request so that what the
// switch answers can be told apart message by message. A mutated message keeps
// its framing (its header's length is the number of bytes sent; lengths inside
// it are fair game), so the connection must live through all of it, and:
// - a message the channel judges (every type but the mods and packet-out, which
//   go to the datapath undecoded; and any message with a wrong version) gets
//   exactly the OFPT_ERROR the codec's own Framer and decodeMessage give the
//   same bytes, with its xid and first 64 bytes (none for a malformed OFPT_ERROR);
// - a mod or packet-out the codec rejects gets an OFPT_ERROR with its xid (the
//   datapath's judgement; where its code differs from the codec's, the pair of
//   codes is counted, with the first message of each);
// - everything the switch sends decodes.
//
//   npx tsx scripts/channel-fuzz.ts --count 1000000 [--seed N] [--target HOST:PORT]
//       [--spare-cookie COOKIE] [--save-corpus FILE]
//
// Without --target it starts a tsof-switch of its own (no ports, a listener on
// a port the kernel picks) and checks at the end that it is still running.
// --spare-cookie keeps the flows with that cookie through the periodic
// clean-up (bench/fuzz-traffic.ts forwards through such flows meanwhile); the
// fuzzed messages themselves may still change or delete them.
// --save-corpus writes the first message of each kind of verdict (a few dozen
// hex lines) for test/fixtures/channel-fuzz/.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, errorName, Framer, OFPT, OFP_VERSION, type Message, type OfErrorCode } from '../src/openflow/codec/index.ts';
import { UNDECODED } from '../src/switch/agent.ts';
import { arbMessage } from '../test/support/arbitraries.ts';

const ERROR_DATA_LEN = 64;
/** Barrier xids: the fuzzed messages' xids are kept below them. */
const BARRIER_XID = 0xf000_0000;
/** Messages sent ahead of the replies read (each with its barrier). */
const WINDOW = 64;
/** Every so many messages, flows, groups and meters are deleted, so that stats replies stay small. */
const CLEAN_EVERY = 5000;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What the switch must answer a message with. */
export type Verdict =
  /** Exactly this error (the channel judges it). */
  | { kind: 'error'; error: OfErrorCode }
  /** An error with its xid, the datapath's to choose; the codec's for comparison. */
  | { kind: 'datapath-error'; error: OfErrorCode }
  /** The message is valid as far as the codec can tell: any answer, or none. */
  | { kind: 'valid' }
  /** A malformed OFPT_ERROR: never answered. */
  | { kind: 'silent' };

/** The codec's verdict on one framed message, as the switch's channel reaches it. */
export function verdict(bytes: Uint8Array): Verdict {
  const frame = new Framer().push(bytes)[0];
  let error: OfErrorCode | undefined;
  if (!frame.ok) error = frame.error;
  else if (UNDECODED.has(bytes[1])) {
    const r = decodeMessage(bytes);
    return r.ok ? { kind: 'valid' } : { kind: 'datapath-error', error: r.error };
  } else {
    const r = decodeMessage(bytes);
    if (!r.ok) error = r.error;
  }
  if (!error) return { kind: 'valid' };
  return bytes[1] === OFPT.ERROR ? { kind: 'silent' } : { kind: 'error', error };
}

/** One message's bytes to fuzz with: a generated message, maybe mutated, or raw bytes; always framed (length = size). */
const arbMutation = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bytes' as const), at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 4, 7, 8, 0xffff), fc.integer({ min: 0, max: 0xffff })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('type' as const), type: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('version' as const), version: fc.integer({ min: 0, max: 255 }) }) },
);
type Mutation = typeof arbMutation extends fc.Arbitrary<infer T> ? T : never;

const arbRaw = fc.record({ version: fc.oneof(fc.constant(OFP_VERSION), fc.integer({ min: 0, max: 255 })), type: fc.integer({ min: 0, max: 40 }), body: fc.uint8Array({ maxLength: 96 }) });

export const arbFuzzInput: fc.Arbitrary<{ msg?: Message; mutation?: Mutation; raw?: { version: number; type: number; body: Uint8Array }; xid: number }> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ msg: arbMessage, mutation: arbMutation, xid: fc.integer({ min: 0, max: BARRIER_XID - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ raw: arbRaw, xid: fc.integer({ min: 0, max: BARRIER_XID - 1 }) }) },
);

export type FuzzInput = typeof arbFuzzInput extends fc.Arbitrary<infer T> ? T : never;

/** The bytes for one input, framed: the header's length is their size (8 to 65535); undefined when they would not fit. */
export function fuzzBytes(input: FuzzInput): Buffer | undefined {
  let b: Buffer;
  if (input.raw) {
    b = Buffer.alloc(8 + input.raw.body.length);
    b[0] = input.raw.version;
    b[1] = input.raw.type;
    b.set(input.raw.body, 8);
  } else {
    // HELLO would be ignored once open, and a role change could make the connection a slave: both are fine.
    try {
      b = Buffer.from(encodeMessage(input.msg!, input.xid));
    } catch {
      return undefined; // a generated message too long to encode
    }
    const m = input.mutation!;
    if (m.kind === 'bytes') for (const [at, v] of m.at) b[8 + (at % Math.max(1, b.length - 8))] = b.length > 8 ? v : b[8];
    else if (m.kind === 'u16' && b.length >= 10) b.writeUInt16BE(m.value, 8 + (m.at % (b.length - 9)));
    else if (m.kind === 'truncate') b = b.subarray(0, 8 + (m.to % (b.length - 7)));
    else if (m.kind === 'extend') b = Buffer.concat([b, m.tail]);
    else if (m.kind === 'type') b[1] = m.type;
    else if (m.kind === 'version') b[0] = m.version;
  }
  if (b.length > 0xffff) return undefined;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(input.xid, 4);
  return b;
}

export interface FuzzResult {
  sent: number;
  /** Messages answered exactly as the codec says. */
  agreed: number;
  /** Failures: [what, message hex] (at most 20 kept). */
  failures: [string, string][];
  failureCount: number;
  /** Mods and packet-outs the codec rejects and the datapath answered with another code, or accepted. */
  datapathDiffers: number;
  datapathAccepted: number;
  /** Both, by "codec's code -> datapath's code (or accepted)": how many, and the first one's hex. */
  datapathDiffs: Record<string, { count: number; example: string }>;
  /** The switch's messages that did not decode. */
  undecodable: number;
  /** The first input of each kind of verdict, for a corpus. */
  corpus: Map<string, string>;
  seconds: number;
}

/** A client connection with its own framer, HELLO done. */
async function open(host: string, port: number): Promise<{ socket: Socket; next: () => Promise<Uint8Array> }> {
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  const framer = new Framer();
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let closed: Error | undefined;
  socket.on('data', (chunk) => {
    for (const f of framer.push(chunk)) queue.push(f.ok ? f.bytes : (f.bytes ?? new Uint8Array(0)));
    wake?.();
  });
  socket.on('close', () => ((closed = new Error('the switch closed the connection')), wake?.()));
  socket.on('error', (e) => ((closed = e), wake?.()));
  let head = 0;
  const next = async (): Promise<Uint8Array> => {
    while (head >= queue.length) {
      if (closed) throw closed;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    const m = queue[head++];
    if (head > 4096) queue.splice(0, head), (head = 0);
    return m;
  };
  socket.write(encodeMessage({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] } as Message));
  const hello = await next();
  if (hello[1] !== OFPT.HELLO) throw new Error(`the switch's first message is type ${hello[1]}, not HELLO`);
  return { socket, next };
}

const barrier = (xid: number) => encodeMessage({ type: 'barrier_request', xid } as Message);
const deleteFlows = (xid: number, cookie: bigint, cookieMask: bigint) =>
  encodeMessage({ type: 'flow_mod', xid, cookie, cookieMask, tableId: 0xff, command: 3, idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [] } as Message);
/**
 * Deletes every flow, group and meter; with spare, every flow but those whose cookie is spare: a cookie mask
 * selects cookies by equality only, so one delete per bit, each of the flows whose cookie differs from spare there.
 */
const cleanUp = (xid: number, spare?: bigint) =>
  Buffer.concat([
    ...(spare === undefined
      ? [deleteFlows(xid, 0n, 0n)]
      : Array.from({ length: 64 }, (_, b) => deleteFlows(xid, ~spare & (1n << BigInt(b)), 1n << BigInt(b)))),
    encodeMessage({ type: 'group_mod', xid, command: 2, groupType: 0, groupId: 0xfffffffc, buckets: [] } as Message),
    encodeMessage({ type: 'meter_mod', xid, command: 2, flags: 0, meterId: 0xffffffff, bands: [] } as Message),
  ]);

/**
 * Sends count fuzzed messages to the switch at host:port, one connection, each
 * with a barrier; checks every answer against the codec's verdict.
 */
export async function fuzzChannel(opts: {
  host: string;
  port: number;
  count: number;
  seed: number;
  /** Messages to send instead of generated ones (a corpus): count and seed are then ignored. */
  messages?: Buffer[];
  /** A cookie whose flows the periodic clean-up leaves. */
  spareCookie?: bigint;
  onProgress?: (sent: number) => void;
}): Promise<FuzzResult> {
  const started = Date.now();
  const { socket, next } = await open(opts.host, opts.port);
  const r: FuzzResult = { sent: 0, agreed: 0, failures: [], failureCount: 0, datapathDiffers: 0, datapathAccepted: 0, datapathDiffs: {}, undecodable: 0, corpus: new Map(), seconds: 0 };
  const fail = (what: string, bytes: Uint8Array) => {
    r.failureCount++;
    if (r.failures.length < 20) r.failures.push([what, hex(bytes)]);
  };
  // Generated a batch at a time (each from its own seed), so that a million inputs are not held at once.
  const BATCH = 10_000;
  let inputs: FuzzInput[] = [];
  const inFlight: { bytes: Buffer; verdict: Verdict; barrier: number }[] = [];
  let barrierXid = BARRIER_XID;
  let i = 0;

  /** Reads what the switch answered the oldest message in flight, up to its barrier reply. */
  const settle = async () => {
    const m = inFlight.shift()!;
    const errors: Uint8Array[] = [];
    for (;;) {
      const reply = await next();
      const d = decodeMessage(reply);
      if (!d.ok) {
        r.undecodable++;
        fail(`the switch sent a message that does not decode (${d.detail})`, reply);
        continue;
      }
      if (d.msg.type === 'barrier_reply' && d.msg.xid === m.barrier) break;
      if (d.msg.type === 'error' && d.msg.xid === m.bytes.readUInt32BE(4)) errors.push(reply);
    }
    const v = m.verdict;
    const key = v.kind === 'valid' || v.kind === 'silent' ? `${v.kind} ${m.bytes[1]}` : `${v.kind} ${errorName(v.error)}`;
    if (!r.corpus.has(key)) r.corpus.set(key, hex(m.bytes));
    const got = errors.map((e) => decodeMessage(e)).flatMap((d) => (d.ok && d.msg.type === 'error' ? [d.msg] : []));
    if (v.kind === 'error') {
      const ok =
        got.length === 1 &&
        got[0].errType === v.error.type &&
        got[0].code === v.error.code &&
        Buffer.from(got[0].data).equals(Buffer.from(m.bytes.subarray(0, ERROR_DATA_LEN)));
      if (ok) r.agreed++;
      else fail(`expected ${errorName(v.error)}, got ${got.map((e) => errorName({ type: e.errType, code: e.code })).join(', ') || 'no error'}`, m.bytes);
    } else if (v.kind === 'silent') {
      if (got.length) fail('a malformed OFPT_ERROR was answered', m.bytes);
      else r.agreed++;
    } else if (v.kind === 'datapath-error') {
      const differs = got.length === 0 || got[0].errType !== v.error.type || got[0].code !== v.error.code;
      if (!differs) r.agreed++;
      else {
        if (got.length === 0) r.datapathAccepted++;
        else r.datapathDiffers++;
        const pair = `${errorName(v.error)} -> ${got.length ? errorName({ type: got[0].errType, code: got[0].code }) : 'accepted'}`;
        (r.datapathDiffs[pair] ??= { count: 0, example: hex(m.bytes) }).count++;
      }
    } else r.agreed++;
  };

  try {
    const count = opts.messages?.length ?? opts.count;
    for (; i < count; i++) {
      if (!opts.messages && i % BATCH === 0) inputs = fc.sample(arbFuzzInput, { numRuns: Math.min(BATCH, count - i), seed: opts.seed + i / BATCH });
      const bytes = opts.messages ? opts.messages[i] : fuzzBytes(inputs[i % BATCH]);
      if (!bytes) continue;
      if (r.sent % CLEAN_EVERY === CLEAN_EVERY - 1) {
        const xid = barrierXid++;
        socket.write(cleanUp(xid, opts.spareCookie));
        socket.write(barrier(xid));
        inFlight.push({ bytes: Buffer.from(barrier(xid)), verdict: { kind: 'valid' }, barrier: xid });
      }
      const xid = barrierXid++;
      if (!socket.write(Buffer.concat([bytes, barrier(xid)]))) await new Promise((res) => socket.once('drain', res));
      inFlight.push({ bytes, verdict: verdict(bytes), barrier: xid });
      r.sent++;
      if (barrierXid === 0xffff_ffff) barrierXid = BARRIER_XID;
      while (inFlight.length >= WINDOW) await settle();
      if (r.sent % 10000 === 0) opts.onProgress?.(r.sent);
    }
    while (inFlight.length) await settle();
  } catch (e) {
    fail(`connection lost after ${r.sent} messages: ${(e as Error).message}`, inFlight[0]?.bytes ?? new Uint8Array(0));
  } finally {
    socket.destroy();
  }
  r.seconds = (Date.now() - started) / 1000;
  return r;
}

/** A tsof-switch of its own, no ports, on a listener the kernel picks; resolves with the port. */
async function startSwitch(): Promise<{ child: ChildProcess; port: number }> {
  const bin = fileURLToPath(new URL('../bin/tsof-switch.js', import.meta.url));
  const dpid = `0x${(0xf0220000 + (process.pid & 0xffff)).toString(16)}`;
  const child = spawn(process.execPath, [bin, '--dpid', dpid, '--listen', 'ptcp:0:127.0.0.1', '--ctl', `/tmp/channel-fuzz-${process.pid}.ctl`, '--fail-mode', 'secure', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    child.once('exit', (code) => reject(new Error(`tsof-switch exited (${code}):\n${lines.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    // The listener's port is in its 'listening' record.
    const timer = setInterval(() => {
      const rec = lines.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((x) => x.msg === 'listening for OpenFlow connections');
      if (rec) {
        clearInterval(timer);
        resolve({ child, port: rec.port as number });
      }
    }, 50);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '100000' }, seed: { type: 'string' }, target: { type: 'string' }, 'spare-cookie': { type: 'string' }, 'save-corpus': { type: 'string' } },
  });
  const count = Number(values.count);
  const seed = values.seed === undefined ? Date.now() % 0x7fffffff : Number(values.seed);
  const spare = values['spare-cookie'];
  if (spare !== undefined && !(/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(spare) && BigInt(spare) <= 0xffff_ffff_ffff_ffffn))
    throw new Error(`--spare-cookie takes a 64-bit number (decimal or 0x hex), got "${spare}"`);
  const spareCookie = spare === undefined ? undefined : BigInt(spare);
  let host = '127.0.0.1';
  let port: number;
  let child: ChildProcess | undefined;
  if (values.target) {
    const m = /^(.*):(\d+)$/.exec(values.target);
    if (!m) throw new Error(`--target takes HOST:PORT, got "${values.target}"`);
    [host, port] = [m[1], +m[2]];
  } else ({ child, port } = await startSwitch());
  process.stderr.write(`channel-fuzz: ${count} messages, seed ${seed}, to ${host}:${port}\n`);
  const r = await fuzzChannel({ host, port, count, seed, spareCookie, onProgress: (n) => process.stderr.write(`  ${n}\n`) });
  const alive = child ? child.exitCode === null : true;
  child?.kill('SIGTERM');
  const { corpus, ...summary } = r;
  process.stdout.write(`${JSON.stringify({ seed, ...summary, rate: Math.round(r.sent / r.seconds), switchAlive: alive }, null, 2)}\n`);
  if (values['save-corpus']) writeFileSync(values['save-corpus'], [...corpus].map(([k, v]) => `# ${k}\n${v}\n`).join(''));
  return r.failureCount === 0 && alive ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
