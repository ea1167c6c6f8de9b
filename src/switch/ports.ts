// What OpenFlow says about a port (ofp_port, spec 7.2.1), from what the
// datapath says of it: the interface's name, address and speed, its config
// from port-mods and its link state (rtnetlink). Made for port descriptions
// and port status, never per packet.

import { OFPPC, OFPPF, OFPPS, type Port } from '../openflow/codec/index.ts';
import type { LinkState, PortInfo } from '../datapath/index.ts';

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

/** ofp_port for a port in its current link state. */
export function describePort(p: Readonly<PortInfo>, link: LinkState): Port {
  const bit = SPEED_BITS.find(([mbps]) => mbps === p.speedMbps)?.[1] ?? (p.speedMbps ? OFPPF.OTHER : 0);
  const features = bit ? bit | OFPPF.COPPER : 0;
  let state = 0;
  if (!link.carrier) state |= OFPPS.LINK_DOWN;
  // LIVE: usable by fast-failover groups (spec 7.2.1), as the datapath judges it: the
  // pipeline skips a PORT_DOWN port's buckets, whatever its link.
  if (link.live && !(p.config & OFPPC.PORT_DOWN)) state |= OFPPS.LIVE;
  return {
    portNo: p.port,
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
