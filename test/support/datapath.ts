// Helpers for the datapath tests: waiting on the datapath thread, flow mods
// built with the codec, and frames built with the controller's packet library
// (implementations independent of the C code under test).

import { buildPacket, type PacketFields } from '../../src/controller/packet/index.ts';
import type { Datapath, PacketIn } from '../../src/datapath/index.ts';
import type { OutFrame, TestDatapath } from '../../src/datapath/testing.ts';
import {
  decodeMessage,
  encodeMessage,
  messageInfo,
  OFPP,
  OFPT,
  type Action,
  type Instruction,
  type MessageOf,
  type MessageType,
  type Oxm,
} from '../../src/openflow/codec/index.ts';

/** Resolves once cond() holds; rejects after ms. */
export async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** Takes frames from a memory port until n have come out (the datapath thread works concurrently). */
export async function takeN(dp: TestDatapath, port: number, n: number): Promise<OutFrame[]> {
  const out: OutFrame[] = [];
  await until(() => (out.push(...dp.take(port)), out.length >= n), `${n} frames out of port ${port}`);
  return out;
}

/** Records packet_in batches. */
export function upcalls(dp: Datapath): PacketIn[][] {
  const batches: PacketIn[][] = [];
  dp.on('packet_in', (b) => batches.push(b));
  return batches;
}

export const H1 = '02:00:00:00:00:01';
export const H2 = '02:00:00:00:00:02';

/** A UDP frame from H1 to H2 whose payload carries n, so frames can be told apart. */
export function numbered(n: number, size = 64, more: Partial<PacketFields> = {}): Uint8Array {
  const payload = new Uint8Array(Math.max(4, size - 42));
  new DataView(payload.buffer).setUint32(0, n);
  return buildPacket({
    eth: { dst: H2, src: H1 },
    ipv4: { src: '192.0.2.1', dst: '192.0.2.2' },
    udp: { srcPort: 4000, dstPort: 5000 },
    payload,
    ...more,
  });
}

/** The number numbered() put into a frame (untagged UDP/IPv4). */
export const numberOf = (frame: Uint8Array): number => new DataView(frame.buffer, frame.byteOffset).getUint32(42);

export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;
export const NO_BUFFER = 0xffffffff;

/** An OFPT_FLOW_MOD as the codec encodes it: an add at priority 100 to table 0 unless said otherwise. */
export function flowMod(match: Oxm[], instructions: Instruction[], more: Partial<MessageOf<'flow_mod'>> = {}): Uint8Array {
  return encodeMessage({
    type: 'flow_mod',
    xid: 1,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 100,
    bufferId: NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: 0xffffffff,
    flags: 0,
    match,
    instructions,
    ...more,
  } as MessageOf<'flow_mod'>);
}

export const apply = (...actions: Action[]): Instruction[] => [{ type: 'apply_actions', actions }];
export const output = (port: number, maxLen = 0xffff): Action => ({ type: 'output', port, maxLen });

/** Installs a flow; fails the test on an OpenFlow error. */
export function addFlow(dp: Datapath, match: Oxm[], instructions: Instruction[], more: Partial<MessageOf<'flow_mod'>> = {}): void {
  const err = dp.flowMod(flowMod(match, instructions, more));
  if (err) throw new Error(`flow mod refused: type ${err.type} code ${err.code}`);
}

/** What the patch panel used to do, as a flow: in_port=inPort -> output:outPort (null: removes it). */
export function patch(dp: Datapath, inPort: number, outPort: number | null): void {
  const match: Oxm[] = [{ field: 'in_port', value: inPort }];
  if (outPort === null) addFlow(dp, match, [], { command: OFPFC.DELETE_STRICT });
  else addFlow(dp, match, apply(output(outPort)));
}

/** in_port=inPort -> output:CONTROLLER, whole frames. */
export const toController = (dp: Datapath, inPort: number): void => patch(dp, inPort, OFPP.CONTROLLER);

/** Decodes a multipart reply body from the datapath under the header the agent puts on it. */
export function decodeReplyBody<T extends MessageType>(type: T, body: Uint8Array): MessageOf<T> {
  const msg = new Uint8Array(16 + body.length);
  const v = new DataView(msg.buffer);
  v.setUint8(0, 4);
  v.setUint8(1, OFPT.MULTIPART_REPLY);
  v.setUint16(2, msg.length);
  v.setUint32(4, 1);
  v.setUint16(8, messageInfo(type).mp!);
  msg.set(body, 16);
  const r = decodeMessage(msg);
  if (!r.ok || r.msg.type !== type) throw new Error(`${type} body does not decode: ${JSON.stringify(r)}`);
  return r.msg as MessageOf<T>;
}

/** A port-mod with the port's own hardware address (an unknown port gets a made-up one). */
export const portMod = (dp: Datapath, port: number, config: number, mask: number) =>
  dp.portMod(port, dp.port(port)?.hwAddr ?? '00:00:00:00:00:00', config, mask);
