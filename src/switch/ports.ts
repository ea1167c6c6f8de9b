// What OpenFlow says about a port (ofp_port, spec 7.2.1), from what Linux says
// about the interface behind it: its address and speed from sysfs, its link
// state from the datapath (rtnetlink), its config from port-mods. Read when a
// port is added and again at each link change, never per packet.

import { readFileSync } from 'node:fs';
import { OFPPC, OFPPF, OFPPS, type Port } from '../openflow/codec/index.ts';
import type { LinkState } from '../datapath/index.ts';

/** A port of the switch, as the agent keeps it. */
export interface SwitchPort {
  portNo: number;
  /** The Linux interface, or the memory port's name. */
  name: string;
  hwAddr: string;
  /** OFPPC_* bits, as port-mods left them. */
  config: number;
  /** Link speed in Mb/s, 0 when unknown. */
  speedMbps: number;
  /** When the port was added (ns, process.hrtime), for port stats' duration. */
  addedAt: bigint;
}

/** OFPPF_* for a full-duplex link speed (Mb/s); OTHER for one OpenFlow has no bit for. */
const SPEED_BITS: [number, number][] = [
  [10, OFPPF['10MB_FD']],
  [100, OFPPF['100MB_FD']],
  [1000, OFPPF['1GB_FD']],
  [10000, OFPPF['10GB_FD']],
  [40000, OFPPF['40GB_FD']],
  [100000, OFPPF['100GB_FD']],
  [1000000, OFPPF['1TB_FD']],
];

function sysfs(ifname: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The interface's MAC address and speed (veths report 10000 Mb/s; -1 or nothing means unknown). */
export function readInterface(ifname: string): { hwAddr: string; speedMbps: number } {
  const speed = Number(sysfs(ifname, 'speed') ?? 0);
  return { hwAddr: sysfs(ifname, 'address') ?? '00:00:00:00:00:00', speedMbps: speed > 0 ? speed : 0 };
}

/** A locally administered address for a memory port (tests), unique per port number. */
export function memoryPortAddress(portNo: number): string {
  const b = [0x02, 0x7e, (portNo >>> 24) & 0xff, (portNo >>> 16) & 0xff, (portNo >>> 8) & 0xff, portNo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** ofp_port for a port in its current link state. */
export function describePort(p: SwitchPort, link: LinkState): Port {
  const bit = SPEED_BITS.find(([mbps]) => mbps === p.speedMbps)?.[1] ?? (p.speedMbps ? OFPPF.OTHER : 0);
  const features = bit ? bit | OFPPF.COPPER : 0;
  let state = 0;
  if (!link.carrier) state |= OFPPS.LINK_DOWN;
  // LIVE: usable by fast-failover groups (spec 7.2.1), as the datapath judges it: the
  // pipeline skips a PORT_DOWN port's buckets, whatever its link.
  if (link.live && !(p.config & OFPPC.PORT_DOWN)) state |= OFPPS.LIVE;
  return {
    portNo: p.portNo,
    hwAddr: p.hwAddr,
    name: p.name,
    config: p.config,
    state,
    curr: features,
    advertised: 0,
    supported: features,
    peer: 0,
    currSpeed: p.speedMbps * 1000,
    maxSpeed: p.speedMbps * 1000,
  };
}
