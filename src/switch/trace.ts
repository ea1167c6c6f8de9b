// Packet traces, printed: what `tsof-switch trace` shows, as `ovs-appctl ofproto/trace` does for Open
// vSwitch. The datapath walks the frame through the pipeline as it is now and records what it meets
// (Datapath.trace(), native/trace.h) without sending, counting or learning anything; this file turns
// those events into text. The OpenFlow structures in them come in wire form and are printed by the
// codec's one printer (formatMatch, formatActions, formatInstructions), so a trace reads like
// ovs-ofctl's dump-flows.
//
// Layout: the frame's flow (and the frame, when the CLI composed it from a flow in ovs-ofctl's
// syntax: src/controller/packet/compose.ts); then each table looked up
// ("0. priority=100,in_port=1, cookie=0x1") with its instructions indented under it, the actions
// of apply-actions and of the action set under those, and what an action led to ("-> output to
// port 2 ...") under the action; a group's buckets nest under the group. The last line sums the
// outcome up.

import {
  action,
  decodeValue,
  formatActions,
  formatInstructions,
  formatMatch,
  fromHex,
  GROUP_TYPE,
  INSTRUCTIONS,
  match as matchCodec,
  PACKET_IN_REASON,
  PORT_NO,
  toHex,
  type Action,
  type Instruction,
} from '../openflow/codec/index.ts';
import { TRACE_DROP, TRACE_KIND, TRACE_NONE, type TraceEvent } from '../datapath/index.ts';

/** A port's name, when it has one, for the text. */
export type PortNamer = (port: number) => string | undefined;

const OFPIT = Object.fromEntries(Object.entries(INSTRUCTIONS).map(([name, [code]]) => [name, code])) as {
  [K in keyof typeof INSTRUCTIONS]: number;
};
const OFPMBT_DROP = 1; // ofp_meter_band_type
const OFPCML_NO_BUFFER = 0xffff;

const nameOf = (table: Record<string, number>, v: number): string =>
  Object.keys(table).find((k) => table[k] === v)?.toLowerCase() ?? String(v);

/** Actions from back-to-back ofp_action TLVs; undefined if they do not decode (printed as hex then). */
function actionsOf(data: Uint8Array): Action[] | undefined {
  const out: Action[] = [];
  for (let at = 0; at < data.length; ) {
    const len = at + 4 <= data.length ? (data[at + 2] << 8) | data[at + 3] : 0;
    const r = len ? decodeValue(action, data.subarray(at, at + len)) : undefined;
    if (!r?.ok) return undefined;
    out.push(r.value);
    at += len;
  }
  return out;
}

function actionsText(data: Uint8Array): string {
  const acts = actionsOf(data);
  return acts ? formatActions(acts) : `(${toHex(data)})`;
}

/** An ofp_match as ovs-ofctl prints it, priority first when given. */
function matchText(data: Uint8Array, priority?: number): string {
  const m = decodeValue(matchCodec, data);
  if (!m.ok) return `(${toHex(data)})`;
  return [priority === undefined ? '' : `priority=${priority}`, formatMatch(m.value)].filter(Boolean).join(',');
}

function dropText(e: TraceEvent, port: (n: number) => string): string {
  switch (e.code) {
    case TRACE_DROP.TABLE_MISS:
      return `no flow in table ${e.id} matches, and it has no table-miss flow`;
    case TRACE_DROP.NO_RECV:
      return `port ${port(e.id)} is NO_RECV or PORT_DOWN: it takes nothing in`;
    case TRACE_DROP.FRAGMENT:
      return 'an IP fragment, and the switch drops fragments (set-config FRAG_DROP)';
    case TRACE_DROP.METER:
      return `meter ${e.id}'s drop band`;
    case TRACE_DROP.INVALID_TTL:
      return 'TTL 0 or 1: invalid TTL';
    case TRACE_DROP.NO_ROOM:
      return 'no room in the buffer to push a header';
    case TRACE_DROP.PORT:
      return `port ${port(e.id)} is unknown, down or NO_FWD`;
    case TRACE_DROP.IN_PORT:
      return `port ${port(e.id)} is the ingress port (only output:IN_PORT sends a frame back)`;
    case TRACE_DROP.TOO_DEEP:
      return 'groups nested too deep';
    case TRACE_DROP.NO_BUCKET:
      return `group ${e.id} has no live bucket`;
    case TRACE_DROP.NO_PACKET_IN:
      return `port ${port(e.id)} is NO_PACKET_IN: no packet-in`;
    case TRACE_DROP.NORMAL:
      return 'NORMAL forwards no such frame (not Ethernet, from a blocked port, or to a link-local address)';
    case TRACE_DROP.NORMAL_PORT:
      return `NORMAL: the destination is on port ${port(e.id)}, the ingress port or one that does not forward`;
    default:
      return `reason ${e.code}`;
  }
}

/**
 * Where an event's line starts: tables at 0, instructions at 4, actions at 8, what they led to at
 * 12; a bucket's lines are 12 deeper, the bucket itself where an instruction would be.
 */
function indentOf(e: TraceEvent): number {
  const d = 12 * e.depth;
  switch (e.kind) {
    case TRACE_KIND.TABLE:
      return d;
    case TRACE_KIND.INSTRUCTION:
    case TRACE_KIND.ACTION_SET:
    case TRACE_KIND.BUCKET:
      return d + 4;
    case TRACE_KIND.ACTION:
      return d + 8;
    case TRACE_KIND.DROP:
      if (e.code === TRACE_DROP.TABLE_MISS || e.code === TRACE_DROP.NO_RECV || e.code === TRACE_DROP.FRAGMENT) return d + 4;
      return e.code === TRACE_DROP.METER ? d + 8 : d + 12;
    default:
      return d + 12;
  }
}

/**
 * A packet trace of frame as text, one line an event and the outcome last. A frame that leaves
 * changed is shown in hex under its output or packet-in; with showFrame (a frame composed from a
 * flow, which the asker has not seen), the frame traced is shown under its flow.
 */
export function formatTrace(
  events: readonly TraceEvent[],
  frame: Uint8Array,
  portName: PortNamer = () => undefined,
  showFrame = false,
): string {
  const port = (n: number) => {
    const reserved = Object.entries(PORT_NO.values).find(([, v]) => v === n)?.[0];
    if (reserved) return reserved;
    const name = portName(n);
    return name ? `${n} (${name})` : String(n);
  };
  const input = toHex(frame);
  const lines: string[] = [];
  const outputs: string[] = [];
  const packetIns: string[] = [];
  const drops: string[] = [];
  let inPort = 0;
  const frameLine = (e: TraceEvent) => {
    if (toHex(e.data) !== input) lines.push(`${' '.repeat(indentOf(e) + 3)}frame: ${toHex(e.data)}`);
  };
  for (const [i, e] of events.entries()) {
    const at = ' '.repeat(indentOf(e));
    switch (e.kind) {
      case TRACE_KIND.FLOW: {
        const m = decodeValue(matchCodec, e.data);
        const inOxm = m.ok ? m.value.find((o) => o.field === 'in_port') : undefined;
        inPort = inOxm ? (inOxm.value as number) : 0;
        lines.push(`Flow: ${matchText(e.data)} (${e.len} bytes)`, ...(showFrame ? [`Frame: ${input}`] : []), '');
        break;
      }
      case TRACE_KIND.TABLE:
        lines.push(
          e.code
            ? `${at}${e.tableId}. ${matchText(e.data, e.priority)}, cookie=0x${e.cookie.toString(16)}`
            : `${at}${e.tableId}. No match.`,
        );
        break;
      case TRACE_KIND.INSTRUCTION: {
        let i: Instruction | undefined;
        let note = '';
        if (e.code === OFPIT.meter) {
          i = { type: 'meter', meterId: e.id };
          note = e.band
            ? ` -> over band ${e.band === OFPMBT_DROP ? 'drop' : 'dscp_remark'} (rate ${e.arg})`
            : ' -> within its rate';
        } else if (e.code === OFPIT.apply_actions) {
          lines.push(`${at}apply_actions:`);
          break;
        } else if (e.code === OFPIT.clear_actions) {
          i = { type: 'clear_actions' };
        } else if (e.code === OFPIT.write_actions) {
          const acts = actionsOf(e.data);
          if (!acts) {
            lines.push(`${at}write_actions(${actionsText(e.data)})`);
            break;
          }
          i = { type: 'write_actions', actions: acts };
        } else if (e.code === OFPIT.write_metadata) {
          i = { type: 'write_metadata', metadata: e.metadata, metadataMask: e.mask };
        } else if (e.code === OFPIT.goto_table) {
          i = { type: 'goto_table', tableId: e.tableId };
        }
        lines.push(`${at}${i ? formatInstructions([i]) : `instruction ${e.code}`}${note}`);
        break;
      }
      case TRACE_KIND.ACTION_SET:
        lines.push(`${at}action set:${events[i + 1]?.kind === TRACE_KIND.ACTION ? '' : ' empty'}`);
        break;
      case TRACE_KIND.ACTION:
        lines.push(`${at}${actionsText(e.data)}${e.code ? ' (the frame has no such header: nothing set)' : ''}`);
        break;
      case TRACE_KIND.GROUP: {
        const type = nameOf(GROUP_TYPE.values, e.code);
        const what =
          e.code === GROUP_TYPE.values.ALL ? `${e.arg} bucket${e.arg === 1 ? '' : 's'}` : e.arg === TRACE_NONE ? 'no live bucket' : `bucket ${e.arg}`;
        lines.push(`${at}-> group ${e.id} (${type}): ${what}`);
        break;
      }
      case TRACE_KIND.BUCKET:
        lines.push(`${at}bucket ${e.arg}:`);
        break;
      case TRACE_KIND.NORMAL:
        lines.push(
          `${at}-> NORMAL: ${e.id ? `destination learned on port ${port(e.id)}` : 'destination unknown or multicast: flood'}` +
            (e.code ? `; a real frame would teach it the source is on port ${port(inPort)}` : ''),
        );
        break;
      case TRACE_KIND.OUTPUT:
        lines.push(`${at}-> output to port ${port(e.id)}${e.arg ? `, queue ${e.arg}` : ''}: ${e.len} bytes`);
        frameLine(e);
        outputs.push(port(e.id));
        break;
      case TRACE_KIND.PACKET_IN: {
        const sent = e.arg === OFPCML_NO_BUFFER ? e.len : Math.min(e.len, e.arg);
        const reason = nameOf(PACKET_IN_REASON.values, e.code);
        lines.push(
          `${at}-> packet-in to the controllers: reason ${reason}, table ${e.tableId}, cookie=0x${e.cookie.toString(16)}, ` +
            `${e.len} bytes (${sent} sent)`,
        );
        frameLine(e);
        packetIns.push(`${reason}, table ${e.tableId}`);
        break;
      }
      case TRACE_KIND.DROP: {
        const why = dropText(e, port);
        lines.push(`${at}-> drop: ${why}`);
        drops.push(why);
        break;
      }
    }
  }
  const outcome: string[] = [];
  if (outputs.length) outcome.push(`output to port${outputs.length > 1 ? 's' : ''} ${outputs.join(', ')}`);
  if (packetIns.length) outcome.push(packetIns.map((p) => `packet-in (${p})`).join(', '));
  if (!outcome.length) outcome.push(`drop${drops.length ? ` (${[...new Set(drops)].join('; ')})` : ' (no output action)'}`);
  lines.push('', `Outcome: ${outcome.join('; ')}`);
  return lines.join('\n') + '\n';
}

/** A frame given as hex (spaces and colons allowed), for the trace verb. */
export function frameFromHex(text: string): Uint8Array {
  let frame: Uint8Array;
  try {
    frame = fromHex(text);
  } catch {
    throw new Error('the frame must be hex digits, two a byte (spaces and colons allowed)');
  }
  if (frame.length === 0) throw new Error('the frame is empty');
  return frame;
}
