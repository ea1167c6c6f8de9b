// Deterministic OpenFlow 1.3 flow tables in ovs-ofctl's text syntax, for
// loading the same file into Open vSwitch and tsof-switch and comparing what
// each gives back (test/interop/switch-ofctl.test.ts).
//
// Coverage is what ovs-ofctl can write as standard OpenFlow 1.3: every OXM
// basic match field it has a name for, with masks where table 12 of the spec
// allows them and with each field's prerequisites; every OpenFlow 1.3 action
// it encodes as such (output to ports and reserved ports, CONTROLLER with
// max_len, group, set_queue, push/pop VLAN and MPLS, set_field of each header
// field, TTL actions), and every instruction (meter, apply, clear, write
// actions, write metadata, goto table), with cookies, timeouts, priorities,
// flags and several tables. ovs-ofctl has no syntax for in_phy_port, pbb_isid,
// ipv6_exthdr, push_pbb/pop_pbb or copy_ttl_in/out, so they are not here.
// Things OVS takes beyond the spec (masks on fields table 12 calls
// unmaskable, set_field of metadata or in_port) are listed apart, in
// BEYOND_SPEC, with the error a spec-following switch gives.
//
// Every flow passes ovs-ofctl's own checks and Open vSwitch's: set_field and
// TTL actions only where the match (or an earlier push) provides their
// prerequisites, field changes before a push or pop that would take them
// away, at most two VLAN tags, neighbour discovery with ICMPv6 code 0, and a
// group named at most once per flow. Priorities are unique per table, so no
// flow replaces another.

/** mulberry32: a small seeded generator, so the same seed gives the same flows. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    /** Fisher-Yates, in place. */
    shuffle: <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = int(0, i);
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
    hex: (bits: number) => {
      let v = 0n;
      for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(int(0, 0xffff));
      return v & ((1n << BigInt(bits)) - 1n);
    },
  };
}
type Rng = ReturnType<typeof rng>;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const mac = (r: Rng) => Array.from({ length: 6 }, () => r.int(0, 255).toString(16).padStart(2, '0')).join(':');
const ipv4 = (r: Rng) => Array.from({ length: 4 }, () => r.int(0, 255)).join('.');
const ipv6 = (r: Rng) => `2001:db8:${Array.from({ length: 6 }, () => r.int(0, 0xffff).toString(16)).join(':')}`;

/** A value of `bits` bits with a random mask, the value cut to the mask (as ovs-ofctl sends it). */
function masked(r: Rng, bits: number): string {
  const mask = r.hex(bits) | 1n;
  return `${hex(r.hex(bits) & mask)}/${hex(mask)}`;
}
const macMasked = (r: Rng) => {
  const m = r.pick(['ff:ff:ff:00:00:00', '01:00:00:00:00:00', 'ff:ff:ff:ff:ff:f0', 'fe:ff:ff:ff:00:ff']);
  const v = mac(r).split(':').map((b, i) => (parseInt(b, 16) & parseInt(m.split(':')[i], 16)).toString(16).padStart(2, '0'));
  return `${v.join(':')}/${m}`;
};
const ipv4Masked = (r: Rng) =>
  r.chance(0.5) ? `10.${r.int(0, 255)}.0.0/16` : r.pick(['10.0.0.0/255.0.255.0', '192.168.1.0/24', '0.0.0.1/0.0.0.1', '172.16.0.0/12']);
const ipv6Masked = (r: Rng) => r.pick(['2001:db8::/32', '2001:db8:1::/48', 'fe80::/10', '::1/::ffff', '2001:db8::1:0/ffff:ffff::ffff:0']);

// ---- matches ------------------------------------------------------------------------------

/** What a match guarantees about the packet: set_field and TTL actions need it. */
interface Ctx {
  vlan?: boolean;
  l3?: 'ip' | 'ipv6';
  l4?: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmp6';
  nd?: 135 | 136;
  arp?: boolean;
  mpls?: boolean;
}
type FieldGen = (r: Rng) => string;

const ipCommon: FieldGen[] = [
  (r) => (r.chance(0.5) ? `ip_dscp=${r.int(0, 63)}` : `nw_tos=${r.int(0, 63) << 2}`),
  (r) => `${r.pick(['ip_ecn', 'nw_ecn'])}=${r.int(0, 3)}`,
];
const ipv4Fields: FieldGen[] = [
  (r) => `${r.pick(['nw_src', 'ip_src'])}=${r.chance(0.5) ? ipv4(r) : ipv4Masked(r)}`,
  (r) => `${r.pick(['nw_dst', 'ip_dst'])}=${r.chance(0.5) ? ipv4(r) : ipv4Masked(r)}`,
  ...ipCommon,
];
const ipv6Fields: FieldGen[] = [
  (r) => `ipv6_src=${r.chance(0.5) ? ipv6(r) : ipv6Masked(r)}`,
  (r) => `ipv6_dst=${r.chance(0.5) ? ipv6(r) : ipv6Masked(r)}`,
  (r) => `ipv6_label=${r.chance(0.5) ? hex(r.int(0, 0xfffff)) : masked(r, 20)}`,
  ...ipCommon,
];
const ports = (proto: string): FieldGen[] => [
  (r) => `${r.pick([`${proto}_src`, 'tp_src'])}=${r.int(0, 65535)}`,
  (r) => `${r.pick([`${proto}_dst`, 'tp_dst'])}=${r.int(0, 65535)}`,
];
/** Open vSwitch takes ICMPv6 as neighbour discovery only with code 0 (RFC 4861 7.1.1). */
const ndCode: FieldGen = () => 'icmp_code=0';

interface Family {
  match: string;
  ctx: Ctx;
  fields: FieldGen[];
}
const FAMILIES: Family[] = [
  { match: '', ctx: {}, fields: [] },
  { match: 'dl_type=0x88cc', ctx: {}, fields: [] },
  { match: 'eth_type=0x0806', ctx: { arp: true }, fields: [] },
  { match: 'ip', ctx: { l3: 'ip' }, fields: [...ipv4Fields, (r) => `${r.pick(['nw_proto', 'ip_proto'])}=${r.pick([2, 47, 50, 89, 103])}`] },
  { match: 'tcp', ctx: { l3: 'ip', l4: 'tcp' }, fields: [...ipv4Fields, ...ports('tcp')] },
  { match: 'udp', ctx: { l3: 'ip', l4: 'udp' }, fields: [...ipv4Fields, ...ports('udp')] },
  { match: 'sctp', ctx: { l3: 'ip', l4: 'sctp' }, fields: [...ipv4Fields, ...ports('sctp')] },
  {
    match: 'icmp',
    ctx: { l3: 'ip', l4: 'icmp' },
    fields: [...ipv4Fields, (r) => `icmp_type=${r.int(0, 255)}`, (r) => `icmp_code=${r.int(0, 255)}`],
  },
  { match: 'ipv6', ctx: { l3: 'ipv6' }, fields: [...ipv6Fields, (r) => `nw_proto=${r.pick([0, 43, 44, 50, 59, 60])}`] },
  { match: 'tcp6', ctx: { l3: 'ipv6', l4: 'tcp' }, fields: [...ipv6Fields, ...ports('tcp')] },
  { match: 'udp6', ctx: { l3: 'ipv6', l4: 'udp' }, fields: [...ipv6Fields, ...ports('udp')] },
  { match: 'sctp6', ctx: { l3: 'ipv6', l4: 'sctp' }, fields: [...ipv6Fields, ...ports('sctp')] },
  {
    match: 'icmp6',
    ctx: { l3: 'ipv6', l4: 'icmp6' },
    fields: [...ipv6Fields, (r) => `icmpv6_type=${r.pick([1, 2, 3, 128, 129, 133, 134])}`, (r) => `icmpv6_code=${r.int(0, 255)}`],
  },
  {
    match: 'icmp6,icmp_type=135',
    ctx: { l3: 'ipv6', l4: 'icmp6', nd: 135 },
    fields: [...ipv6Fields, ndCode, (r) => `nd_target=${ipv6(r)}`, (r) => `nd_sll=${mac(r)}`],
  },
  {
    match: 'icmp6,icmpv6_type=136',
    ctx: { l3: 'ipv6', l4: 'icmp6', nd: 136 },
    fields: [...ipv6Fields, ndCode, (r) => `nd_target=${ipv6(r)}`, (r) => `nd_tll=${mac(r)}`],
  },
  {
    match: 'arp',
    ctx: { arp: true },
    fields: [
      (r) => `arp_op=${r.int(1, 4)}`,
      (r) => `arp_spa=${r.chance(0.5) ? ipv4(r) : ipv4Masked(r)}`,
      (r) => `arp_tpa=${r.chance(0.5) ? ipv4(r) : ipv4Masked(r)}`,
      (r) => `arp_sha=${r.chance(0.5) ? mac(r) : macMasked(r)}`,
      (r) => `arp_tha=${r.chance(0.5) ? mac(r) : macMasked(r)}`,
    ],
  },
  ...['mpls', 'mplsm'].map((match) => ({
    match,
    ctx: { mpls: true },
    fields: [(r: Rng) => `mpls_label=${r.int(0, 0xfffff)}`, (r: Rng) => `mpls_tc=${r.int(0, 7)}`, (r: Rng) => `mpls_bos=${r.int(0, 1)}`],
  })),
];

/** Fields any family may add. */
const L2_FIELDS: FieldGen[] = [
  (r) => `in_port=${r.pick(['1', '2', '3', String(r.int(4, 0xfeff)), 'LOCAL'])}`,
  (r) => `metadata=${r.chance(0.5) ? hex(r.hex(64)) : masked(r, 64)}`,
  (r) => `${r.pick(['dl_src', 'eth_src'])}=${r.chance(0.5) ? mac(r) : macMasked(r)}`,
  (r) => `${r.pick(['dl_dst', 'eth_dst'])}=${r.chance(0.5) ? mac(r) : macMasked(r)}`,
  (r) => `${r.pick(['tun_id', 'tunnel_id'])}=${r.chance(0.5) ? hex(r.hex(64)) : masked(r, 64)}`,
];

/** The VLAN part of a match, and whether it guarantees a tag. */
function vlanMatch(r: Rng): { text: string; present: boolean } {
  switch (r.int(0, 5)) {
    case 0:
      return { text: `dl_vlan=${r.int(0, 4095)}`, present: true }; // VID exact, tag present
    case 1:
      return { text: `vlan_vid=${r.int(0, 4095)},vlan_pcp=${r.int(0, 7)}`, present: true };
    case 2:
      return { text: 'vlan_tci=0x1000/0x1000', present: true }; // any tag
    case 3:
      return { text: r.pick(['vlan_tci=0', 'dl_vlan=0xffff']), present: false }; // no tag
    case 4:
      return { text: `vlan_vid=${masked(r, 12)}`, present: false }; // VID bits, presence not matched
    default:
      return { text: `vlan_tci=${hex(0x1000 | (r.int(0, 0xff) << 4))}/0x1ff0`, present: true };
  }
}

// ---- actions -------------------------------------------------------------------------------

/** set_field (or its mod_* spelling) of each field a context allows, keyed by field so the action set has one of each. */
function setters(c: Ctx): Record<string, FieldGen> {
  const s: Record<string, FieldGen> = {
    eth_src: (r) => r.pick([`set_field:${mac(r)}->eth_src`, `mod_dl_src:${mac(r)}`]),
    eth_dst: (r) => r.pick([`set_field:${mac(r)}->eth_dst`, `mod_dl_dst:${mac(r)}`]),
    tun_id: (r) => r.pick([`set_field:${hex(r.hex(64))}->tun_id`, `set_tunnel:${hex(r.hex(32))}`]),
  };
  if (c.vlan) {
    s.vlan_vid = (r) => r.pick([`set_field:${0x1000 | r.int(0, 4095)}->vlan_vid`, `mod_vlan_vid:${r.int(0, 4095)}`]);
    s.vlan_pcp = (r) => r.pick([`set_field:${r.int(0, 7)}->vlan_pcp`, `mod_vlan_pcp:${r.int(0, 7)}`]);
  }
  if (c.l3) {
    s.ip_dscp = (r) => r.pick([`set_field:${r.int(0, 63)}->ip_dscp`, `mod_nw_tos:${r.int(0, 63) << 2}`]);
    s.ip_ecn = (r) => r.pick([`set_field:${r.int(0, 3)}->nw_ecn`, `mod_nw_ecn:${r.int(0, 3)}`]);
  }
  if (c.l3 === 'ip') {
    s.ip_src = (r) => r.pick([`set_field:${ipv4(r)}->ip_src`, `mod_nw_src:${ipv4(r)}`]);
    s.ip_dst = (r) => r.pick([`set_field:${ipv4(r)}->ip_dst`, `mod_nw_dst:${ipv4(r)}`]);
  }
  if (c.l3 === 'ipv6') {
    s.ipv6_src = (r) => `set_field:${ipv6(r)}->ipv6_src`;
    s.ipv6_dst = (r) => `set_field:${ipv6(r)}->ipv6_dst`;
    s.ipv6_label = (r) => `set_field:${hex(r.int(0, 0xfffff))}->ipv6_label`;
  }
  if (c.l4 === 'tcp' || c.l4 === 'udp' || c.l4 === 'sctp') {
    const p = c.l4;
    s[`${p}_src`] = (r) => r.pick([`set_field:${r.int(0, 65535)}->${p}_src`, `mod_tp_src:${r.int(0, 65535)}`]);
    s[`${p}_dst`] = (r) => r.pick([`set_field:${r.int(0, 65535)}->${p}_dst`, `mod_tp_dst:${r.int(0, 65535)}`]);
  }
  if (c.l4 === 'icmp') {
    s.icmp_type = (r) => `set_field:${r.int(0, 255)}->icmp_type`;
    s.icmp_code = (r) => `set_field:${r.int(0, 255)}->icmp_code`;
  }
  if (c.l4 === 'icmp6') {
    // Changing a neighbour discovery message's type or code (RFC 4861: 0) takes the nd_* fields' prerequisite away.
    if (!c.nd) {
      s.icmpv6_type = (r) => `set_field:${r.int(0, 255)}->icmpv6_type`;
      s.icmpv6_code = (r) => `set_field:${r.int(0, 255)}->icmpv6_code`;
    }
  }
  if (c.nd) s.nd_target = (r) => `set_field:${ipv6(r)}->nd_target`;
  if (c.nd === 135) s.nd_sll = (r) => `set_field:${mac(r)}->nd_sll`;
  if (c.nd === 136) s.nd_tll = (r) => `set_field:${mac(r)}->nd_tll`;
  if (c.arp) {
    s.arp_op = (r) => `set_field:${r.int(1, 4)}->arp_op`;
    s.arp_spa = (r) => `set_field:${ipv4(r)}->arp_spa`;
    s.arp_tpa = (r) => `set_field:${ipv4(r)}->arp_tpa`;
    s.arp_sha = (r) => `set_field:${mac(r)}->arp_sha`;
    s.arp_tha = (r) => `set_field:${mac(r)}->arp_tha`;
  }
  if (c.mpls) {
    s.mpls_label = (r) => `set_field:${r.int(0, 0xfffff)}->mpls_label`;
    s.mpls_tc = (r) => `set_field:${r.int(0, 7)}->mpls_tc`;
  }
  return s;
}

/** TTL actions a context allows. */
function ttlActions(c: Ctx, r: Rng): string[] {
  const out: string[] = [];
  if (c.l3 && r.chance(0.5)) out.push(r.pick(['dec_ttl', `mod_nw_ttl:${r.int(0, 255)}`]));
  if (c.mpls && r.chance(0.5)) out.push(r.pick(['dec_mpls_ttl', `set_mpls_ttl:${r.int(0, 255)}`]));
  return out;
}

const GROUP_IDS = [1, 2, 3, 4, 5];
const METER_IDS = [1, 2, 4, 5];
const RESERVED_OUT = ['IN_PORT', 'LOCAL', 'NORMAL', 'FLOOD', 'ALL'];

/**
 * Output actions for one flow. A flow names at most one group: Open vSwitch 3.1 aborts
 * (ofproto.c, "assertion rule->state == RULE_INSERTED failed in ofproto_rule_remove__")
 * when a group is deleted that a flow names twice.
 */
function outputs(r: Rng) {
  let groupUsed = false;
  const group = () => {
    groupUsed = true;
    return `group:${r.pick(GROUP_IDS)}`;
  };
  return {
    any(): string {
      switch (r.int(0, 5)) {
        case 0:
        case 1:
          return `output:${r.pick([1, 2, 3, r.int(4, 0xfeff)])}`;
        case 2:
          return r.pick(RESERVED_OUT);
        case 3:
          return `CONTROLLER:${r.pick([0, 64, 128, 1500, 65509, 65535])}`;
        case 4:
          // A second group would be a second reference: a port instead.
          return groupUsed ? `${r.int(1, 3)}` : group();
        default:
          return `${r.int(1, 3)}`; // a bare port number is output
      }
    },
    group: () => (groupUsed ? undefined : group()),
  };
}
type Outputs = ReturnType<typeof outputs>;

/** Up to `n` distinct set_fields of a context, in a random order. */
function someSets(r: Rng, c: Ctx, n: number): string[] {
  const s = setters(c);
  const keys = r.shuffle(Object.keys(s));
  return keys.slice(0, r.int(0, Math.min(n, keys.length))).map((k) => s[k](r));
}

/**
 * Apply-actions: field changes, TTLs, at most one push or pop, then what the push allows, and
 * outputs. Gives the actions and what the packet is known to be after them (the action set
 * applies to that packet, and ovs-ofctl checks its set_fields against it).
 */
function applyActions(r: Rng, c: Ctx, out: Outputs): { acts: string[]; after: Ctx } {
  const acts: string[] = [];
  let after = c;
  if (r.chance(0.15)) acts.push(out.any()); // an output before the changes sends the packet as it came
  acts.push(...someSets(r, c, 4), ...ttlActions(c, r));
  switch (r.int(0, 6)) {
    case 0:
      if (c.vlan) break; // Open vSwitch keeps two tags at most: push only onto untagged packets
      acts.push(`push_vlan:${r.pick(['0x8100', '0x88a8'])}`, ...someSets(r, { vlan: true }, 2).filter((a) => /vlan/.test(a)));
      after = { ...c, vlan: true };
      break;
    case 1:
      if (!c.vlan) break;
      acts.push('pop_vlan');
      after = { ...c, vlan: false };
      break;
    case 2:
      if (c.mpls) break;
      acts.push(
        `push_mpls:${r.pick(['0x8847', '0x8848'])}`,
        ...someSets(r, { mpls: true }, 2).filter((a) => /mpls/.test(a)),
        ...ttlActions({ mpls: true }, r),
      );
      after = { vlan: c.vlan, mpls: true };
      break;
    case 3:
      if (!c.mpls) break;
      acts.push(`pop_mpls:${r.pick(['0x0800', '0x86dd', '0x8847'])}`);
      after = { vlan: c.vlan };
      break;
  }
  if (r.chance(0.2)) acts.push(`set_queue:${r.int(0, 7)}`);
  for (let n = r.int(0, 3); n > 0; n--) acts.push(out.any());
  return { acts, after };
}

/** Write-actions: an action set, so at most one action of each kind. */
function writeActions(r: Rng, c: Ctx, out: Outputs): string[] {
  const acts = someSets(r, c, 3);
  if (c.l3 && r.chance(0.3)) acts.push('dec_ttl');
  if (!c.vlan && r.chance(0.2)) acts.push(`push_vlan:${r.pick(['0x8100', '0x88a8'])}`);
  if (r.chance(0.2)) acts.push(`set_queue:${r.int(0, 7)}`);
  const group = r.chance(0.4) && out.group();
  if (group) acts.push(group);
  if (r.chance(0.6)) acts.push(`output:${r.pick([1, 2, 3, 'IN_PORT', 'CONTROLLER'])}`);
  return r.shuffle(acts);
}

// ---- flows ---------------------------------------------------------------------------------

/** Tables flows go to: mostly the first few, and the last one there is. */
const TABLES = [0, 0, 0, 0, 1, 1, 2, 3, 4, 7, 100, 253];
const FLAGS = ['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts'];

/** Groups and meters the flows refer to, as ovs-ofctl add-groups / add-meter lines. */
export const GROUPS = [
  'group_id=1,type=all,bucket=output:1,bucket=output:2',
  'group_id=2,type=select,bucket=weight:10,output:1,bucket=weight:20,set_field:00:00:00:00:00:01->eth_dst,output:2',
  'group_id=3,type=indirect,bucket=push_vlan:0x8100,set_field:4100->vlan_vid,output:1',
  'group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2',
  'group_id=5,type=all,bucket=group:1,bucket=output:CONTROLLER',
];
/** Open vSwitch's userspace datapath has no DSCP-remark band, so every meter here drops. */
export const METERS = [
  'meter=1,kbps,band=type=drop,rate=1000',
  'meter=2,pktps,burst,stats,band=type=drop,rate=100,burst_size=10',
  'meter=4,kbps,stats,bands=type=drop,rate=1000,type=drop,rate=2000',
  'meter=5,pktps,burst,bands=type=drop,rate=1000,burst_size=100,type=drop,rate=2000,burst_size=200',
];

/** Flows chosen by hand for edges the random ones might miss. */
const EDGES = [
  'table=0,priority=0 actions=CONTROLLER:65535',
  'table=1,priority=0 actions=drop',
  'table=0,priority=65535,in_port=1 actions=output:2',
  'table=0,priority=65534,dl_vlan=4095,dl_vlan_pcp=7 actions=pop_vlan,output:1',
  'table=0,priority=65533,mpls,mpls_label=1048575,mpls_tc=7,mpls_bos=1 actions=pop_mpls:0x0800,dec_ttl,output:2',
  'table=0,priority=65532,metadata=0xffffffffffffffff,tun_id=0xffffffffffffffff actions=clear_actions',
  'table=0,priority=65531,in_port=1 actions=output:1,IN_PORT,LOCAL,NORMAL,FLOOD,ALL,CONTROLLER:65535,group:5',
  'table=2,priority=32768,ip actions=meter:1,dec_ttl,clear_actions,write_actions(output:2),write_metadata:0xff/0xff,goto_table:253',
  'table=253,priority=1 actions=write_metadata:0xffffffffffffffff',
  'table=3,priority=7,cookie=0xffffffffffffffff,idle_timeout=65535,hard_timeout=65535,send_flow_rem actions=drop',
  'table=0,priority=65530,vlan_tci=0x1000/0x1000 actions=set_field:8191->vlan_vid,set_field:0->vlan_pcp,output:1',
  'table=0,priority=65529,arp,arp_op=2 actions=set_field:1->arp_op,set_field:ff:ff:ff:ff:ff:ff->arp_tha,output:FLOOD',
];

/**
 * `count` flows (more than EDGES.length) from `seed`, one ovs-ofctl add-flows line each. Flows
 * name tables, groups 1-5 and meters 1, 2, 4 and 5 (GROUPS and METERS).
 */
export function generateFlows(seed: number, count: number): string[] {
  const r = rng(seed);
  const used = new Map<number, Set<number>>();
  const claim = (table: number, priority: number) => {
    const set = used.get(table) ?? used.set(table, new Set()).get(table)!;
    if (set.has(priority)) return false;
    set.add(priority);
    return true;
  };
  for (const e of EDGES) claim(+/table=(\d+)/.exec(e)![1], +/priority=(\d+)/.exec(e)![1]);
  const flows = [...EDGES];
  for (let i = 0; flows.length < count; i++) {
    const fam = FAMILIES[i % FAMILIES.length];
    const ctx: Ctx = { ...fam.ctx };
    const parts: string[] = [];
    const table = r.pick(TABLES);
    let priority: number;
    do priority = r.chance(0.05) ? 32768 : r.int(1, 65535);
    while (!claim(table, priority));
    parts.push(`table=${table}`);
    if (priority !== 32768 || r.chance(0.5)) parts.push(`priority=${priority}`);
    if (r.chance(0.6)) parts.push(`cookie=${hex(r.hex(64))}`);
    if (r.chance(0.3)) parts.push(`idle_timeout=${r.int(1000, 65535)}`);
    if (r.chance(0.3)) parts.push(`hard_timeout=${r.int(1000, 65535)}`);
    for (const f of FLAGS) if (r.chance(0.1)) parts.push(f);
    if (fam.match) parts.push(fam.match);
    // Each field of the family in turn for sure, the others by chance.
    const fields = fam.fields;
    fields.forEach((gen, k) => {
      if (k === Math.floor(i / FAMILIES.length) % fields.length || r.chance(0.3)) parts.push(gen(r));
    });
    for (const gen of L2_FIELDS) if (r.chance(0.15)) parts.push(gen(r));
    if (r.chance(0.3)) {
      const v = vlanMatch(r);
      parts.push(v.text);
      ctx.vlan = v.present;
    }

    const instr: string[] = [];
    const out = outputs(r);
    if (r.chance(0.15)) instr.push(`meter:${r.pick(METER_IDS)}`);
    let after = ctx;
    if (r.chance(0.8)) {
      const apply = applyActions(r, ctx, out);
      instr.push(...apply.acts);
      after = apply.after;
    }
    if (r.chance(0.1)) instr.push('clear_actions');
    if (r.chance(0.25)) instr.push(`write_actions(${writeActions(r, after, out).join(',')})`);
    if (r.chance(0.15)) {
      const mask = r.hex(64) | 1n;
      instr.push(`write_metadata:${hex(r.hex(64) & mask)}${r.chance(0.8) ? `/${hex(mask)}` : ''}`);
    }
    if (table < 253 && r.chance(0.25)) instr.push(`goto_table:${r.pick([table + 1, r.int(table + 1, 253)])}`);
    flows.push(`${parts.join(',')} actions=${instr.length ? instr.join(',') : 'drop'}`);
  }
  return flows;
}

/**
 * Flows Open vSwitch takes though OpenFlow 1.3 forbids them, each with the
 * error a switch that follows the spec answers (tsof-switch does).
 */
export const BEYOND_SPEC: { flow: string; error: string; why: string }[] = [
  { flow: 'priority=9,tcp,tp_src=0x10/0xf0 actions=drop', error: 'OFPBMC_BAD_MASK', why: 'TCP_SRC is not maskable (table 12)' },
  { flow: 'priority=9,udp,udp_dst=0x10/0xf0 actions=drop', error: 'OFPBMC_BAD_MASK', why: 'UDP_DST is not maskable (table 12)' },
  { flow: 'priority=9,sctp,sctp_src=0x10/0xf0 actions=drop', error: 'OFPBMC_BAD_MASK', why: 'SCTP_SRC is not maskable (table 12)' },
  {
    flow: 'priority=9,icmp6,icmp_type=135,nd_target=fe80::/64 actions=drop',
    error: 'OFPBMC_BAD_MASK',
    why: 'IPV6_ND_TARGET is not maskable (table 12)',
  },
  {
    flow: 'priority=9,icmp6,icmp_type=135,nd_sll=00:11:22:00:00:00/ff:ff:ff:00:00:00 actions=drop',
    error: 'OFPBMC_BAD_MASK',
    why: 'IPV6_ND_SLL is not maskable (table 12)',
  },
  { flow: 'priority=9 actions=set_field:0x5->metadata', error: 'OFPBAC_BAD_SET_TYPE', why: 'metadata is not a header field (7.2.5)' },
  { flow: 'priority=9 actions=set_field:5->in_port', error: 'OFPBAC_BAD_SET_TYPE', why: 'in_port is not a header field (7.2.5)' },
];
