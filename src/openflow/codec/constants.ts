// Reserved numbers and flag bits of OpenFlow 1.3.5 (spec section 7), each with the
// name the printer shows. Values are plain numbers in the API; these tables give
// them names for code (OFPP.CONTROLLER) and for text (CONTROLLER).

import { flags, named, u16, u32, u8, type Codec } from './schema.ts';

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
export const OFP_TCP_PORT = 6653;

/** Builds { NAME: value } and a codec of `c` that prints those names. */
function names<const T extends Record<string, number>>(c: Codec<number>, table: T, asFlags = false) {
  const byValue: Record<number, string> = {};
  for (const [k, v] of Object.entries(table)) byValue[v] = k;
  return { values: table, codec: asFlags ? flags(c, byValue) : named<number>(c, byValue) };
}

export const PORT_NO = names(u32, {
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
});
/** Reserved port numbers; ordinary ports are 1..OFPP_MAX (0xffffff00). */
export const OFPP = { MAX: 0xffffff00, ...PORT_NO.values } as const;

export const GROUP_ID = names(u32, { ALL: 0xfffffffc, ANY: 0xffffffff });
export const OFPG = { MAX: 0xffffff00, ...GROUP_ID.values } as const;

export const TABLE_ID = names(u8, { ALL: 0xff });
export const OFPTT = { MAX: 0xfe, ...TABLE_ID.values } as const;

export const BUFFER_ID = names(u32, { NO_BUFFER: 0xffffffff });
export const OFP_NO_BUFFER = 0xffffffff;

export const METER_ID = names(u32, { SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff });
export const OFPM = { MAX: 0xffff0000, ...METER_ID.values } as const;

export const QUEUE_ID = names(u32, { ALL: 0xffffffff });
export const OFPQ_ALL = 0xffffffff;

export const MAX_LEN = names(u16, { MAX: 0xffe5, NO_BUFFER: 0xffff });
/** Controller max_len: send the whole packet, unbuffered. */
export const OFPCML = { MAX: 0xffe5, NO_BUFFER: 0xffff } as const;

export const FLOW_MOD_COMMAND = names(u8, { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 });
export const OFPFC = FLOW_MOD_COMMAND.values;

export const FLOW_MOD_FLAGS = names(
  u16,
  { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 },
  true,
);
export const OFPFF = FLOW_MOD_FLAGS.values;

export const GROUP_MOD_COMMAND = names(u16, { ADD: 0, MODIFY: 1, DELETE: 2 });
export const OFPGC = GROUP_MOD_COMMAND.values;

export const GROUP_TYPE = names(u8, { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 });
export const OFPGT = GROUP_TYPE.values;

export const GROUP_CAPABILITIES = names(u32, { SELECT_WEIGHT: 1, SELECT_LIVENESS: 2, CHAINING: 4, CHAINING_CHECKS: 8 }, true);
export const OFPGFC = GROUP_CAPABILITIES.values;

export const METER_MOD_COMMAND = names(u16, { ADD: 0, MODIFY: 1, DELETE: 2 });
export const OFPMC = METER_MOD_COMMAND.values;

export const METER_FLAGS = names(u16, { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 }, true);
export const OFPMF = METER_FLAGS.values;
/** The same bits as a u32, in meter features. */
export const METER_CAPABILITIES = names(u32, METER_FLAGS.values, true);

export const PORT_CONFIG = names(u32, { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 32, NO_PACKET_IN: 64 }, true);
export const OFPPC = PORT_CONFIG.values;

export const PORT_STATE = names(u32, { LINK_DOWN: 1, BLOCKED: 2, LIVE: 4 }, true);
export const OFPPS = PORT_STATE.values;

export const PORT_FEATURES = names(
  u32,
  {
    '10MB_HD': 1 << 0,
    '10MB_FD': 1 << 1,
    '100MB_HD': 1 << 2,
    '100MB_FD': 1 << 3,
    '1GB_HD': 1 << 4,
    '1GB_FD': 1 << 5,
    '10GB_FD': 1 << 6,
    '40GB_FD': 1 << 7,
    '100GB_FD': 1 << 8,
    '1TB_FD': 1 << 9,
    OTHER: 1 << 10,
    COPPER: 1 << 11,
    FIBER: 1 << 12,
    AUTONEG: 1 << 13,
    PAUSE: 1 << 14,
    PAUSE_ASYM: 1 << 15,
  },
  true,
);
export const OFPPF = PORT_FEATURES.values;

export const CAPABILITIES = names(
  u32,
  { FLOW_STATS: 1, TABLE_STATS: 2, PORT_STATS: 4, GROUP_STATS: 8, IP_REASM: 32, QUEUE_STATS: 64, PORT_BLOCKED: 256 },
  true,
);
export const OFPC = CAPABILITIES.values;

/** Switch config flags: the low two bits choose fragment handling. */
export const CONFIG_FLAGS = names(u16, { FRAG_DROP: 1, FRAG_REASM: 2 }, true);
export const OFPC_FRAG = { NORMAL: 0, DROP: 1, REASM: 2, MASK: 3 } as const;

export const PACKET_IN_REASON = names(u8, { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 });
export const OFPR = PACKET_IN_REASON.values;

export const FLOW_REMOVED_REASON = names(u8, { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 });
export const OFPRR = FLOW_REMOVED_REASON.values;

export const PORT_REASON = names(u8, { ADD: 0, DELETE: 1, MODIFY: 2 });
export const OFPPR = PORT_REASON.values;

export const CONTROLLER_ROLE = names(u32, { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 });
export const OFPCR_ROLE = CONTROLLER_ROLE.values;

export const MULTIPART_FLAGS = names(u16, { MORE: 1 }, true);
/** OFPMPF_REQ_MORE and OFPMPF_REPLY_MORE share the bit. */
export const OFPMPF_MORE = 1;

export const TABLE_CONFIG = names(u32, { DEPRECATED_MASK: 3 }, true);

export const METER_BAND_TYPES = names(u32, { DROP: 1 << 1, DSCP_REMARK: 1 << 2 }, true);

/** Bits of the ipv6_exthdr match field (spec 7.2.3.7). */
export const OFPIEH = {
  NONEXT: 1 << 0,
  ESP: 1 << 1,
  AUTH: 1 << 2,
  DEST: 1 << 3,
  FRAG: 1 << 4,
  ROUTER: 1 << 5,
  HOP: 1 << 6,
  UNREP: 1 << 7,
  UNSEQ: 1 << 8,
} as const;
