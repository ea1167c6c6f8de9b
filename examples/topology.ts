// LLDP topology discovery, as Ryu's --observe-links: every switch sends an
// LLDP frame out of each of its ports, naming itself and the port; the switch
// at the other end sends it up in a packet-in, which tells the controller that
// the two ports are linked. Links not heard from for three rounds, on a port
// that went down, or on a switch that left, are dropped.
//
// It shows most of the SDK: a checked flow (flowMatch, flowMod, sw.confirm),
// packets built and parsed (buildPacket, parsePacket), packet-outs, port-status
// and switch-down events, and a request (the switch's description). Run it
// alone or beside the learning switch:
//   npm run app:topology
//   npx tsof-controller examples/learning-switch.ts examples/topology.ts

import { EventEmitter } from 'eventemitter3';
import {
  act,
  buildPacket,
  ETHERTYPE,
  flowMatch,
  flowMod,
  LLDP_CHASSIS_SUBTYPE,
  LLDP_MAC_NEAREST_BRIDGE,
  LLDP_PORT_SUBTYPE,
  lldpText,
  matchField,
  OFPP,
  OFPPC,
  OFPPR,
  OFPPS,
  packetOut,
  parsePacket,
  type Controller,
  type MessageOf,
  type Port,
  type SwitchHandle,
} from '../src/controller/index.ts';

/** One end of a link: a switch and one of its ports. */
export interface End {
  dpid: bigint;
  port: number;
}

/** A link as one direction of it was seen: an LLDP frame sent from src came in at dst. */
export interface Link {
  src: End;
  dst: End;
}

/** Above any app's flows: LLDP must reach the controller whatever else is installed. */
const LLDP_PRIORITY = 0xffff;

const hexDpid = (dpid: bigint) => dpid.toString(16).padStart(16, '0');
const key = (e: End) => `${hexDpid(e.dpid)}:${e.port}`;

/** The frame that says "switch dpid, port p" on port p. */
function lldpFrame(dpid: bigint, port: Port, ttlSeconds: number): Uint8Array {
  const portId = new Uint8Array(4);
  new DataView(portId.buffer).setUint32(0, port.portNo);
  return buildPacket({
    eth: { dst: LLDP_MAC_NEAREST_BRIDGE, src: port.hwAddr },
    lldp: {
      chassisId: { subtype: LLDP_CHASSIS_SUBTYPE.LOCAL, id: `dpid:${hexDpid(dpid)}` },
      portId: { subtype: LLDP_PORT_SUBTYPE.PORT_COMPONENT, id: portId },
      ttl: ttlSeconds,
    },
  });
}

/** The sending end an LLDP frame names, if it is one of ours. */
function senderOf(frame: Uint8Array): End | undefined {
  const lldp = parsePacket(frame)?.lldp;
  if (!lldp || lldp.chassisId.subtype !== LLDP_CHASSIS_SUBTYPE.LOCAL || lldp.portId.id.length !== 4) return undefined;
  // Another LLDP speaker (a host, another controller's probe) names itself otherwise.
  const hex = /^dpid:([0-9a-f]{16})$/.exec(lldpText(lldp.chassisId.id))?.[1];
  if (!hex) return undefined;
  const dpid = BigInt(`0x${hex}`);
  return { dpid, port: new DataView(lldp.portId.id.buffer, lldp.portId.id.byteOffset).getUint32(0) };
}

const usable = (p: Port) => p.portNo <= OFPP.MAX && !(p.config & OFPPC.PORT_DOWN) && !(p.state & OFPPS.LINK_DOWN);

/** The links the controller has learnt; 'link-add' and 'link-delete' tell of changes. */
export class Topology extends EventEmitter<{ 'link-add': (l: Link) => void; 'link-delete': (l: Link, why: string) => void }> {
  /** By the receiving end: each port hears at most one sender. */
  private readonly byDst = new Map<string, { link: Link; seen: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly controller: Controller,
    readonly interval: number,
  ) {
    super();
    controller.on('switch', this.onSwitch);
    controller.on('packet_in', this.onPacketIn);
    controller.on('port_status', this.onPortStatus);
    controller.on('switch-down', this.onSwitchDown);
    this.timer = setInterval(() => this.round(), interval).unref();
  }

  /** Every link, each direction on its own. */
  links(): Link[] {
    return [...this.byDst.values()].map((e) => e.link);
  }

  /** Stops probing and listening. */
  stop(): void {
    clearInterval(this.timer);
    this.controller.off('switch', this.onSwitch);
    this.controller.off('packet_in', this.onPacketIn);
    this.controller.off('port_status', this.onPortStatus);
    this.controller.off('switch-down', this.onSwitchDown);
  }

  private readonly onSwitch = (sw: SwitchHandle) => {
    const lldp = flowMatch().ethType(ETHERTYPE.LLDP).ethDst(LLDP_MAC_NEAREST_BRIDGE);
    Promise.all([
      sw.confirm(flowMod({ priority: LLDP_PRIORITY, match: lldp, actions: [act.controller()] })),
      sw.request({ type: 'desc_request' }),
    ]).then(
      ([, desc]) => {
        this.controller.log.info({ dpid: hexDpid(sw.dpid), hw: desc.hwDesc, sw: desc.swDesc }, 'topology: probing switch');
        this.probe(sw);
      },
      // Refused (a slave cannot add flows) or gone: this switch is not probed.
      (err: Error) => this.controller.log.warn({ dpid: hexDpid(sw.dpid), err: err.message }, 'topology: cannot set up switch'),
    );
  };

  private readonly onPacketIn = (sw: SwitchHandle, msg: MessageOf<'packet_in'>) => {
    const inPort = matchField(msg.match, 'in_port');
    const src = senderOf(msg.data);
    if (inPort === undefined || !src) return;
    // A probe still in flight when its port (or the one it reached) went away must not bring the link back.
    const srcPort = this.controller.switches.get(src.dpid)?.ports.get(src.port);
    const dstPort = sw.ports.get(inPort);
    if (!srcPort || !usable(srcPort) || !dstPort || !usable(dstPort)) return;
    const link = { src, dst: { dpid: sw.dpid, port: inPort } };
    const k = key(link.dst);
    const old = this.byDst.get(k);
    if (old && key(old.link.src) === key(src)) {
      old.seen = Date.now();
      return;
    }
    if (old) this.remove(k, 'the port now hears another sender');
    this.byDst.set(k, { link, seen: Date.now() });
    this.emit('link-add', link);
  };

  private readonly onPortStatus = (sw: SwitchHandle, msg: MessageOf<'port_status'>) => {
    const end = key({ dpid: sw.dpid, port: msg.desc.portNo });
    if (msg.reason === OFPPR.DELETE || !usable(msg.desc)) this.removeWhere((l) => key(l.src) === end || key(l.dst) === end, 'port down');
    else this.probe(sw, [msg.desc]);
  };

  private readonly onSwitchDown = (sw: SwitchHandle) => {
    this.removeWhere((l) => l.src.dpid === sw.dpid || l.dst.dpid === sw.dpid, 'switch left');
  };

  private probe(sw: SwitchHandle, ports: Iterable<Port> = sw.ports.values()): void {
    const ttl = Math.ceil((3 * this.interval) / 1000);
    for (const port of ports) {
      if (!usable(port)) continue;
      sw.send(packetOut({ actions: [act.output(port.portNo)], data: lldpFrame(sw.dpid, port, ttl) }));
    }
  }

  /** One round: expire links not heard from for three intervals, then probe every switch again. */
  private round(): void {
    const stale = Date.now() - 3 * this.interval;
    for (const [k, e] of this.byDst) if (e.seen < stale) this.remove(k, 'no LLDP for three rounds');
    for (const sw of this.controller.switches.values()) this.probe(sw);
  }

  private removeWhere(test: (l: Link) => boolean, why: string): void {
    for (const [k, e] of this.byDst) if (test(e.link)) this.remove(k, why);
  }

  private remove(k: string, why: string): void {
    const e = this.byDst.get(k);
    if (!e) return;
    this.byDst.delete(k);
    this.emit('link-delete', e.link, why);
  }
}

/** Starts discovery on a controller: probes every `interval` ms. */
export const discover = (controller: Controller, interval = 1000): Topology => new Topology(controller, interval);

export default function topologyApp(controller: Controller): void {
  const topology = discover(controller);
  const text = (l: Link) => `${key(l.src)} -> ${key(l.dst)}`;
  topology.on('link-add', (l) => controller.log.info({ link: text(l), links: topology.links().length }, 'link up'));
  topology.on('link-delete', (l, why) => controller.log.info({ link: text(l), why }, 'link down'));
}
