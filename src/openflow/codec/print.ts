// ovs-ofctl's text of OpenFlow messages (Open vSwitch's ofp-print), one printer
// per message in PRINTERS, as OVS has one print function per message type.
// formatMessage() (messages.ts) prints with them the messages they cover and
// keeps its generic one-line form for the rest, so logs, `tsof-ofctl` and the
// tests show one text, the one ovs-ofctl shows for the same bytes.
//
// The output is checked byte for byte against `ovs-ofctl ofp-print` (Open vSwitch
// 3.1, test/unit/ofctl-print.test.ts), including OVS's own rules that a reader
// would not guess: ports renumbered into 16 bits and sorted, bits OpenFlow 1.3 does
// not define dropped, durations in milliseconds when exact, a table that repeats
// the one before it printed as "ditto", and values OVS cannot decode printed as
// "***decode error: NAME***" followed by a hex dump of the message.

import type { Message, MessageOf, MessageType } from './messages.ts';
import { decodeMessage, encodeMessage, formatMessage, messageInfo } from './messages.ts';
import { errorCodeName, OFPET_EXPERIMENTER } from './errors.ts';
import {
  formatActions,
  formatDuration,
  formatFlowMod,
  formatFlowStats,
  formatGroup,
  formatGroupMod,
  formatMatch,
  formatMeter,
  formatMeterMod,
  ovsMatchError,
} from './text.ts';
import { writeStr } from './wire.ts';

/** Appends a message's body text to `s.text`; returns an OVS error name when OVS would not decode it. */
type Printer<K extends MessageType> = (msg: MessageOf<K>, s: { text: string }) => string | void;

/** The title OVS gives each message (ofpraw names): OFPT_* and "OFPST_* request/reply". */
const TITLES: Record<MessageType, string> = {
  hello: 'OFPT_HELLO',
  error: 'OFPT_ERROR',
  echo_request: 'OFPT_ECHO_REQUEST',
  echo_reply: 'OFPT_ECHO_REPLY',
  experimenter: 'OFPT_EXPERIMENTER',
  features_request: 'OFPT_FEATURES_REQUEST',
  features_reply: 'OFPT_FEATURES_REPLY',
  get_config_request: 'OFPT_GET_CONFIG_REQUEST',
  get_config_reply: 'OFPT_GET_CONFIG_REPLY',
  set_config: 'OFPT_SET_CONFIG',
  packet_in: 'OFPT_PACKET_IN',
  flow_removed: 'OFPT_FLOW_REMOVED',
  port_status: 'OFPT_PORT_STATUS',
  packet_out: 'OFPT_PACKET_OUT',
  flow_mod: 'OFPT_FLOW_MOD',
  group_mod: 'OFPT_GROUP_MOD',
  port_mod: 'OFPT_PORT_MOD',
  table_mod: 'OFPT_TABLE_MOD',
  desc_request: 'OFPST_DESC request',
  desc_reply: 'OFPST_DESC reply',
  flow_stats_request: 'OFPST_FLOW request',
  flow_stats_reply: 'OFPST_FLOW reply',
  aggregate_stats_request: 'OFPST_AGGREGATE request',
  aggregate_stats_reply: 'OFPST_AGGREGATE reply',
  table_stats_request: 'OFPST_TABLE request',
  table_stats_reply: 'OFPST_TABLE reply',
  port_stats_request: 'OFPST_PORT request',
  port_stats_reply: 'OFPST_PORT reply',
  queue_stats_request: 'OFPST_QUEUE request',
  queue_stats_reply: 'OFPST_QUEUE reply',
  group_stats_request: 'OFPST_GROUP request',
  group_stats_reply: 'OFPST_GROUP reply',
  group_desc_request: 'OFPST_GROUP_DESC request',
  group_desc_reply: 'OFPST_GROUP_DESC reply',
  group_features_request: 'OFPST_GROUP_FEATURES request',
  group_features_reply: 'OFPST_GROUP_FEATURES reply',
  meter_stats_request: 'OFPST_METER request',
  meter_stats_reply: 'OFPST_METER reply',
  meter_config_request: 'OFPST_METER_CONFIG request',
  meter_config_reply: 'OFPST_METER_CONFIG reply',
  meter_features_request: 'OFPST_METER_FEATURES request',
  meter_features_reply: 'OFPST_METER_FEATURES reply',
  table_features_request: 'OFPST_TABLE_FEATURES request',
  table_features_reply: 'OFPST_TABLE_FEATURES reply',
  port_desc_request: 'OFPST_PORT_DESC request',
  port_desc_reply: 'OFPST_PORT_DESC reply',
  experimenter_stats_request: 'OFPST_EXPERIMENTER request',
  experimenter_stats_reply: 'OFPST_EXPERIMENTER reply',
  barrier_request: 'OFPT_BARRIER_REQUEST',
  barrier_reply: 'OFPT_BARRIER_REPLY',
  queue_get_config_request: 'OFPT_QUEUE_GET_CONFIG_REQUEST',
  queue_get_config_reply: 'OFPT_QUEUE_GET_CONFIG_REPLY',
  role_request: 'OFPT_ROLE_REQUEST',
  role_reply: 'OFPT_ROLE_REPLY',
  get_async_request: 'OFPT_GET_ASYNC_REQUEST',
  get_async_reply: 'OFPT_GET_ASYNC_REPLY',
  set_async: 'OFPT_SET_ASYNC',
  meter_mod: 'OFPT_METER_MOD',
};

// ---- pieces several printers share -------------------------------------------------

/** OVS's bit lists: names in bit order, leftover bits in hex; "0" for none. */
function bitNames(bits: number, names: Record<number, string>, sep = ' '): string {
  if (!bits) return '0';
  const out: string[] = [];
  let rest = bits >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if (rest & bit && names[bit]) {
      out.push(names[bit]);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(sep);
}

class Unprintable extends Error {}

/** OVS keeps ports in 16 bits: 0..0xfeff as they are, 0xffffff00.. as 0xff00..; others are an error. */
function port16(p: number): number {
  if (p < 0xff00) return p;
  if (p >= 0xffffff00) return p - 0xffff0000;
  throw new Unprintable('OFPBAC_BAD_OUT_PORT');
}

const RESERVED_PORTS: Record<number, string> = {
  0xfff7: 'UNSET',
  0xfff8: 'IN_PORT',
  0xfff9: 'TABLE',
  0xfffa: 'NORMAL',
  0xfffb: 'FLOOD',
  0xfffc: 'ALL',
  0xfffd: 'CONTROLLER',
  0xfffe: 'LOCAL',
  0xffff: 'ANY',
};

const portName = (p16: number) => RESERVED_PORTS[p16] ?? String(p16);

const PORT_CONFIG_NAMES = { 1: 'PORT_DOWN', 4: 'NO_RECV', 32: 'NO_FWD', 64: 'NO_PACKET_IN' };
const PORT_STATE_NAMES = { 1: 'LINK_DOWN', 2: 'BLOCKED', 4: 'LIVE' };
const PORT_FEATURE_NAMES = [
  '10MB-HD', '10MB-FD', '100MB-HD', '100MB-FD', '1GB-HD', '1GB-FD', '10GB-FD', '40GB-FD',
  '100GB-FD', '1TB-FD', 'OTHER', 'COPPER', 'FIBER', 'AUTO_NEG', 'AUTO_PAUSE', 'AUTO_PAUSE_ASYM',
].reduce<Record<number, string>>((m, name, i) => ((m[1 << i] = name), m), {});

/** A port name as OVS shows it: at most 15 bytes, cut at the first byte that is not printable ASCII. */
function printableName(name: string): string {
  const b = new Uint8Array(16);
  writeStr(b, 0, 16, name);
  let n = 0;
  while (n < 15 && b[n] >= 0x20 && b[n] < 0x7f) n++;
  return String.fromCharCode(...b.subarray(0, n));
}

type Port = MessageOf<'port_desc_reply'>['ports'][number];

/** ofputil_phy_port_format. */
function formatPort(p: Port, p16: number): string {
  const mac = p.hwAddr;
  let s = ` ${portName(p16)}(${printableName(p.name)}): addr:${mac}\n`;
  s += `     config:     ${bitNames(p.config & 0x65, PORT_CONFIG_NAMES)}\n`;
  s += `     state:      ${bitNames(p.state & 7, PORT_STATE_NAMES)}\n`;
  const features: [string, number][] = [
    ['current:    ', p.curr],
    ['advertised: ', p.advertised],
    ['supported:  ', p.supported],
    ['peer:       ', p.peer],
  ];
  for (const [label, f] of features) if (f & 0xffff) s += `     ${label}${bitNames(f & 0xffff, PORT_FEATURE_NAMES)}\n`;
  s += `     speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max\n`;
  return s;
}

/** ofputil_phy_ports_format: sorted by port number; a port OVS cannot number ends the list with its error. */
function formatPorts(ports: Port[], s: { text: string }): string | void {
  const decoded: [Port, number][] = [];
  let error: string | undefined;
  for (const p of ports) {
    try {
      decoded.push([p, port16(p.portNo)]);
    } catch (e) {
      error = (e as Error).message;
      break;
    }
  }
  decoded.sort((a, b) => a[1] - b[1]);
  for (const [p, p16] of decoded) s.text += formatPort(p, p16);
  return error;
}

/** Port counters; all ones means the switch does not count it (spec 7.3.5.6): "?". */
const counters = (list: readonly (readonly [string, bigint])[]) =>
  list.map(([name, v]) => `${name}=${v === 0xffffffffffffffffn ? '?' : v}`).join(', ');

const GROUP_NAMES: Record<number, string> = { 0xfffffffc: 'ALL', 0xffffffff: 'ANY' };

function meterName(id: number, sep: string): string {
  const name = id <= 0xffff0000 ? String(id) : ({ 0xfffffffd: 'slowpath', 0xfffffffe: 'controller', 0xffffffff: 'all' }[id] ?? 'unknown');
  return `meter${sep}${name}`;
}

/** OpenFlow 1.3 action bits (OFPAT_*) in the order and with the names OVS prints them (ofpact_bitmap_format). */
const ACTION_BITS: [number, string][] = [
  [0, 'output'], [22, 'group'], [25, 'set_field'], [18, 'strip_vlan'], [17, 'push_vlan'], [23, 'mod_nw_ttl'],
  [24, 'dec_ttl'], [15, 'set_mpls_ttl'], [16, 'dec_mpls_ttl'], [19, 'push_mpls'], [20, 'pop_mpls'], [21, 'set_queue'],
];

function actionBits(bits: number): string {
  const names = ACTION_BITS.filter(([bit]) => (bits >>> bit) & 1).map(([, name]) => name);
  return names.length ? names.join(' ') : '<none>';
}

/** ds_put_printable: printable ASCII as it is, other bytes (and \ and ") as octal escapes. */
function printable(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c < 0x20 || c > 0x7e || c === 0x5c || c === 0x22 ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c);
  return s;
}

// ---- the printers, one per message ------------------------------------------------

const nothing = () => {};

const switchConfig = (m: MessageOf<'get_config_reply'> | MessageOf<'set_config'>, s: { text: string }) => {
  // A set-config with flags 1.3 does not define is refused; a reply is printed regardless.
  if (m.type === 'set_config' && m.flags & ~3) return 'OFPSCFC_BAD_FLAGS';
  const frag = ['normal', 'drop', 'reassemble', 'nx-match'][m.flags & 3];
  s.text += ` frags=${frag} miss_send_len=${m.missSendLen}\n`;
};

/** ofputil_flow_stats_request_format: table and out_port when set, then the match (no cookie, no out_group). */
function echoPayload(m: MessageOf<'echo_request' | 'echo_reply'>, s: { text: string }) {
  s.text += ` ${m.data.length} bytes of payload\n`;
  if (m.data.length) s.text += hexDump(m.data) + '\n';
}

function flowStatsRequest(m: MessageOf<'flow_stats_request' | 'aggregate_stats_request'>, s: { text: string }) {
  const bad = ovsMatchError(m.match);
  if (bad) return bad;
  if (m.tableId !== 0xff) s.text += ` table=${m.tableId}`;
  if (m.outPort !== OFPP_ANY) s.text += ` out_port=${portName(port16(m.outPort))}`;
  s.text += ` ${formatMatch(m.match)}`;
}

/** OVS refuses an instruction list that names one instruction twice. */
function instructionError(instructions: readonly { type: string }[]): string | undefined {
  const seen = new Set(instructions.map((i) => i.type));
  return seen.size < instructions.length ? 'OFPBIC_DUP_INST' : undefined;
}

/** ofputil_check_group_mod: OVS refuses what a group of its type cannot have. */
function groupModError(m: MessageOf<'group_mod'>): string | undefined {
  if (m.groupType > 3) return 'OFPGMFC_BAD_TYPE';
  if (m.command > 2) return 'OFPGMFC_BAD_COMMAND';
  if (m.groupType === 2 && m.command !== 2 && m.buckets.length !== 1) return 'OFPGMFC_INVALID_GROUP';
  for (const b of m.buckets) {
    if (b.weight && m.groupType !== 1) return 'OFPGMFC_INVALID_GROUP';
    const live = b.watchPort !== OFPP_ANY || b.watchGroup !== 0xffffffff;
    if (live && (m.groupType === 0 || m.groupType === 2)) return 'OFPGMFC_WATCH_UNSUPPORTED';
    if (!live && m.groupType === 3) return 'OFPGMFC_INVALID_GROUP';
  }
}

const OFPP_ANY = 0xffffffff;
/** What OVS's summary of a frame says of no frame at all. */
const EMPTY_FRAME = 'vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,dl_type=0x0000';
const OFP_NO_BUFFER = 0xffffffff;
const FLOW_REMOVED_REASONS = ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'];
const PACKET_IN_REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];
const queueName = (q: number) => (q === 0xffffffff ? 'ALL' : String(q));

const PRINTERS: { [K in MessageType]?: Printer<K> } = {
  error(m, s) {
    // OVS knows no experimenter errors but its own, and no code outside the spec's tables.
    const name = m.errType === OFPET_EXPERIMENTER ? undefined : errorCodeName(m.errType, m.code);
    if (name === undefined || !name.startsWith('OFP')) return 'OFPBRC_BAD_LEN';
    s.text += ` ${name}\n`;
    s.text += m.errType === 0 ? printable(m.data) : embedded(m.data);
  },

  // ovs-ofctl prints the payload at its monitor's, snoop's and ofp-parse's verbosity (2) as here.
  echo_request: echoPayload,
  echo_reply: echoPayload,

  features_request: nothing,
  features_reply(m, s) {
    s.text += ` dpid:${m.datapathId.toString(16).padStart(16, '0')}\n`;
    s.text += `n_tables:${m.nTables}, n_buffers:${m.nBuffers}`;
    if (m.auxiliaryId) s.text += `, auxiliary_id:${m.auxiliaryId}`;
    // OVS's capability bits are OpenFlow 1.0's: GROUP_STATS (1.3's bit 3) is its bit 4.
    const caps = (m.capabilities & 0x167) | (m.capabilities & 8 ? 0x10 : 0);
    s.text += `\ncapabilities: ${bitNames(caps, CAPABILITY_NAMES)}\n`;
  },

  get_config_request: nothing,
  get_config_reply: switchConfig,
  set_config: switchConfig,

  port_status(m, s) {
    const reason = ['ADD', 'DEL', 'MOD'][m.reason];
    if (reason === undefined) return 'NXBRC_BAD_REASON';
    const p16 = port16(m.desc.portNo);
    s.text += ` ${reason}:${formatPort(m.desc, p16)}`;
  },

  port_desc_request(_m, s) {
    s.text += ' port=ANY';
  },
  port_desc_reply(m, s) {
    s.text += '\n';
    return formatPorts(m.ports, s);
  },

  port_stats_request(m, s) {
    s.text += ` port_no=${portName(port16(m.portNo))}`;
  },
  port_stats_reply(m, s) {
    // The count is of the ports OVS can number, up to the first it cannot.
    const bad = m.stats.findIndex((p) => p.portNo >= 0xff00 && p.portNo < 0xffffff00);
    s.text += ` ${bad < 0 ? m.stats.length : bad} ports\n`;
    for (const p of m.stats) {
      const p16 = port16(p.portNo);
      const rx = [['pkts', p.rxPackets], ['bytes', p.rxBytes], ['drop', p.rxDropped], ['errs', p.rxErrors], ['frame', p.rxFrameErr], ['over', p.rxOverErr], ['crc', p.rxCrcErr]] as const;
      const tx = [['pkts', p.txPackets], ['bytes', p.txBytes], ['drop', p.txDropped], ['errs', p.txErrors], ['coll', p.collisions]] as const;
      s.text += `  port ${p16 < 10 ? ' ' : ''}${portName(p16)}: rx ${counters(rx)}\n           tx ${counters(tx)}\n`;
      if (p.durationSec !== 0xffffffff) s.text += `           duration=${formatDuration(p.durationSec, p.durationNsec)}\n`;
    }
  },

  table_stats_request: nothing,
  // OpenFlow 1.3's table stats carry no features, so every table after the first has the same (none):
  // a run of tables whose counters repeat the one before is printed as "ditto".
  table_stats_reply(m, s) {
    let first = -1;
    let last = -1;
    const finish = () => {
      if (first < 0) return;
      s.text += first === last ? `\n  table ${first}: ditto\n` : `\n  tables ${first}...${last}: ditto\n`;
    };
    m.stats.forEach((t, i) => {
      const prev = m.stats[i - 1];
      if (prev && t.activeCount === prev.activeCount && t.lookupCount === prev.lookupCount && t.matchedCount === prev.matchedCount) {
        if (first < 0) first = t.tableId;
        last = t.tableId;
        return;
      }
      finish();
      first = -1;
      s.text += `\n  table ${t.tableId}:\n    active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}\n`;
    });
    finish();
  },

  group_stats_request(m, s) {
    s.text += ` group_id=${GROUP_NAMES[m.groupId] ?? m.groupId}`;
  },
  group_stats_reply(m, s) {
    for (const g of m.stats) {
      s.text += `\n group_id=${g.groupId},duration=${formatDuration(g.durationSec, g.durationNsec)},ref_count=${g.refCount},packet_count=${g.packetCount},byte_count=${g.byteCount}`;
      g.bucketStats.forEach((b, i) => {
        if (b.packetCount !== 0xffffffffffffffffn) s.text += `,bucket${i}:packet_count=${b.packetCount},byte_count=${b.byteCount}`;
      });
    }
  },

  group_features_request: nothing,
  group_features_reply(m, s) {
    s.text += `\n Group table:\n    Types:  0x${m.types.toString(16)}\n    Capabilities:  0x${m.capabilities.toString(16)}\n`;
    ['all', 'select', 'indirect', 'fast failover'].forEach((name, i) => {
      if (!((m.types >>> i) & 1)) return;
      const max = m.maxGroups[i];
      s.text += `    ${name} group:\n       max_groups=${max ? `0x${max.toString(16)}` : '0'}\n       actions: ${actionBits(m.actions[i])}\n`;
    });
  },

  meter_stats_request(m, s) {
    s.text += ` ${meterName(m.meterId, '=')}`;
  },
  meter_stats_reply(m, s) {
    for (const ms of m.stats) {
      s.text += `\n${meterName(ms.meterId, ':')} flow_count:${ms.flowCount} packet_in_count:${ms.packetInCount} byte_in_count:${ms.byteInCount} duration:${formatDuration(ms.durationSec, ms.durationNsec)} bands:\n`;
      ms.bandStats.forEach((b, i) => (s.text += `${i}: packet_count:${b.packetBandCount} byte_count:${b.byteBandCount}\n`));
    }
  },

  meter_features_request: nothing,
  meter_features_reply(m, s) {
    s.text += `\nmax_meter:${m.maxMeter} max_bands:${m.maxBands} max_color:${m.maxColor}\n`;
    s.text += `band_types: ${bitNames(m.bandTypes, { 2: 'drop', 4: 'dscp_remark' })}\n`;
    s.text += `capabilities: ${bitNames(m.capabilities, { 1: 'kbps', 2: 'pktps', 4: 'burst', 8: 'stats' })}\n`;
  },

  // The flow, group and meter messages: their flows, groups and meters are the text syntax's
  // (text.ts), so dump-flows lines, flow_mods and add-flows input are written in one place.
  flow_mod(m, s) {
    const bad = ovsMatchError(m.match) ?? instructionError(m.instructions);
    if (bad) return bad;
    s.text += ` ${formatFlowMod(m)}`;
  },

  flow_removed(m, s) {
    const bad = ovsMatchError(m.match);
    if (bad) return bad;
    s.text += ` ${formatMatch(m.match, m.priority)} reason=${FLOW_REMOVED_REASONS[m.reason] ?? m.reason}`;
    if (m.tableId !== 0xff) s.text += ` table_id=${m.tableId}`;
    if (m.cookie !== 0n) s.text += ` cookie:0x${m.cookie.toString(16)}`;
    s.text += ` duration${formatDuration(m.durationSec, m.durationNsec)} idle${m.idleTimeout}`;
    if (m.hardTimeout) s.text += ` hard${m.hardTimeout}`;
    s.text += ` pkts${m.packetCount} bytes${m.byteCount}\n`;
  },

  flow_stats_request: flowStatsRequest,
  flow_stats_reply(m, s) {
    for (const f of m.stats) {
      const bad = ovsMatchError(f.match) ?? instructionError(f.instructions);
      if (bad) return bad;
      s.text += `\n ${formatFlowStats(f)}`;
    }
  },

  aggregate_stats_request: flowStatsRequest,
  aggregate_stats_reply(m, s) {
    s.text += ` packet_count=${m.packetCount} byte_count=${m.byteCount} flow_count=${m.flowCount}`;
  },

  queue_stats_request(m, s) {
    s.text += ` port=${portName(port16(m.portNo))} queue=${queueName(m.queueId)}`;
  },
  queue_stats_reply(m, s) {
    s.text += ` ${m.stats.length} queues\n`;
    for (const q of m.stats) {
      const stat = (v: bigint) => (v === 0xffffffffffffffffn ? '?' : String(v));
      s.text += `  port ${portName(port16(q.portNo))} queue ${queueName(q.queueId)}: bytes=${stat(q.txBytes)}, pkts=${stat(q.txPackets)}, errors=${stat(q.txErrors)}, `;
      s.text += `duration=${q.durationSec === 0xffffffff ? '?' : formatDuration(q.durationSec, q.durationNsec)}\n`;
    }
  },

  group_mod(m, s) {
    const bad = groupModError(m);
    if (bad) return bad;
    s.text += `\n ${formatGroupMod(m)}`;
  },
  group_desc_request(_m, s) {
    s.text += ' group_id=ALL';
  },
  group_desc_reply(m, s) {
    for (const g of m.stats) s.text += `\n ${formatGroup(g)}`;
  },

  meter_mod(m, s) {
    if (m.bands.some((b) => b.type === 'experimenter')) return 'OFPMMFC_BAD_BAND';
    s.text += ` ${formatMeterMod(m)}`;
  },
  meter_config_request(m, s) {
    s.text += ` ${meterName(m.meterId, '=')}`;
  },
  meter_config_reply(m, s) {
    for (const mc of m.stats) {
      if (mc.bands.some((b) => b.type === 'experimenter')) return 'OFPMMFC_BAD_BAND';
      s.text += `\n${formatMeter(mc)}\n`;
    }
  },

  // The frame itself OVS summarises as a flow (ofp_packet_to_string), which tsof does not
  // yet: a frame is shown as a hex dump after the line, where OVS has its summary.
  packet_in(m, s) {
    const bad = ovsMatchError(m.match);
    if (bad) return bad;
    if (m.tableId) s.text += ` table_id=${m.tableId}`;
    if (m.cookie !== 0xffffffffffffffffn) s.text += ` cookie=0x${m.cookie.toString(16)}`;
    s.text += ` total_len=${m.totalLen} ${formatMatch(m.match)} (via ${PACKET_IN_REASONS[m.reason] ?? m.reason}) data_len=${m.data.length}`;
    if (m.bufferId === OFP_NO_BUFFER) {
      s.text += ' (unbuffered)';
      if (m.totalLen !== m.data.length) s.text += ' (***total_len != data_len***)';
    } else {
      s.text += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
      if (m.totalLen < m.data.length) s.text += ' (***total_len < data_len***)';
    }
    s.text += '\n';
    s.text += m.data.length ? hexDump(m.data) + '\n' : `${EMPTY_FRAME}\n`;
  },
  packet_out(m, s) {
    s.text += ` ${formatMatch([{ field: 'in_port', value: m.inPort }])} actions=${formatActions(m.actions)}`;
    if (m.bufferId !== OFP_NO_BUFFER) {
      s.text += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
      return;
    }
    s.text += ` data_len=${m.data.length}`;
    if (m.data.length) s.text += '\n' + hexDump(m.data);
  },

  barrier_request: nothing,
  barrier_reply: nothing,
};

const CAPABILITY_NAMES = {
  1: 'FLOW_STATS',
  2: 'TABLE_STATS',
  4: 'PORT_STATS',
  0x10: 'GROUP_STATS',
  0x20: 'IP_REASM',
  0x40: 'QUEUE_STATS',
  0x100: 'PORT_BLOCKED',
};

// ---- the frame OVS puts around every printer (ofp_to_string) ----------------------

/** ovs-ofctl's text of msg without the final newline, or undefined for a message no printer covers yet. */
export function ofpPrint(msg: Message): string | undefined {
  const printer = PRINTERS[msg.type] as Printer<MessageType> | undefined;
  if (!printer) return undefined;
  const s = { text: `${TITLES[msg.type]} (OF1.3) (xid=0x${msg.xid.toString(16)}):` };
  const headerLength = s.text.length;
  const flags = (msg as { flags?: number }).flags;
  if (flags && TITLES[msg.type].startsWith('OFPST')) {
    s.text += ' flags=';
    if (flags & 1) s.text += '[more]';
    if (flags & ~1) s.text += `[***unknown flags 0x${(flags & ~1).toString(16).padStart(4, '0')}***]`;
  }
  let error: string | void;
  try {
    error = printer(msg, s);
  } catch (e) {
    if (!(e instanceof Unprintable)) throw e;
    error = e.message;
  }
  let text = s.text;
  if (error) {
    text = text.length > headerLength ? newline(chompSpace(text)) : text + ' ';
    text += `***decode error: ${error}***\n` + hexDump(encodeMessage(msg)) + '\n';
  } else {
    text = chompSpace(text);
  }
  return newline(text).slice(0, -1);
}

const chompSpace = (t: string) => (t.endsWith(' ') ? t.slice(0, -1) : t);
const newline = (t: string) => (t.length && !t.endsWith('\n') ? t + '\n' : t);

/** The message an OFPT_ERROR carries back (its first bytes), printed as ofp_to_string prints it, with a newline. */
function embedded(b: Uint8Array): string {
  if (b.length === 0) return 'OpenFlow message is empty\n';
  if (b.length < 8) return `OpenFlow packet too short (only ${b.length} bytes):\n${hexDump(b)}\n`;
  const length = (b[2] << 8) | b[3];
  if (length > b.length) {
    const title = b[0] === 4 ? titleOf(b) : undefined;
    const xid = new DataView(b.buffer, b.byteOffset).getUint32(4);
    return `${title ? `${title} (OF1.3) (xid=0x${xid.toString(16)}):\n` : ''}(***truncated to ${b.length} bytes from ${length}***)\n${hexDump(b)}\n`;
  }
  if (length < b.length) return `(***only uses ${length} bytes out of ${b.length}***)\n${hexDump(b)}\n`;
  const r = decodeMessage(b);
  return r.ok ? formatMessage(r.msg) + '\n' : `***decode error: ${errorCodeName(r.error.type, r.error.code)}***\n${hexDump(b)}\n`;
}

/** The title of a message from its header alone (a cut-short message). */
function titleOf(b: Uint8Array): string | undefined {
  const multipart = b[1] === 18 || b[1] === 19;
  if (multipart && b.length < 12) return undefined;
  const mp = multipart ? (b[8] << 8) | b[9] : undefined;
  const type = (Object.keys(TITLES) as MessageType[]).find((t) => {
    const info = messageInfo(t);
    return info.ofpt === b[1] && info.mp === mp;
  });
  return type && TITLES[type];
}

/**
 * The ovs-ofctl hex dump (offset, 16 bytes with a '-' after the eighth, ASCII),
 * with a caret line under the byte at `mark` when one is given.
 */
export function hexDump(b: Uint8Array, mark?: number): string {
  const lines: string[] = [];
  const rows = Math.max(1, Math.ceil(b.length / 16));
  // An offset at or past the end is marked just after the last byte.
  const markRow = mark === undefined ? -1 : Math.min(Math.floor(mark / 16), rows - 1);
  for (let row = 0; row < rows; row++) {
    const start = row * 16;
    const chunk = b.subarray(start, start + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      hex += i < chunk.length ? chunk[i].toString(16).padStart(2, '0') + (i === 7 ? '-' : ' ') : '   ';
      if (i < chunk.length) ascii += chunk[i] >= 0x20 && chunk[i] < 0x7f ? String.fromCharCode(chunk[i]) : '.';
    }
    lines.push(`${start.toString(16).padStart(8, '0')}  ${hex}|${ascii.padEnd(16)}|`);
    if (row === markRow) {
      const col = Math.min(mark! - start, 16);
      lines.push(`${' '.repeat(10 + 3 * col)}^^ offset ${mark}`);
    }
  }
  return lines.join('\n');
}
