// What Linux says about an interface a port is made of, read once when the
// port is added: its MAC address and link speed, from sysfs. Memory ports,
// which have no interface, get a locally administered address made from
// their number.

import { readFileSync } from 'node:fs';

function sysfs(ifname: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The interface's MAC address and speed in Mb/s (veths report 10000; -1 or nothing means unknown: 0). */
export function readInterface(ifname: string): { hwAddr: string; speedMbps: number } {
  const speed = Number(sysfs(ifname, 'speed') ?? 0);
  return { hwAddr: sysfs(ifname, 'address') ?? '00:00:00:00:00:00', speedMbps: speed > 0 ? speed : 0 };
}

/** 02:7e and the port number: locally administered, unique per port. */
export function memoryPortAddress(portNo: number): string {
  const b = [0x02, 0x7e, (portNo >>> 24) & 0xff, (portNo >>> 16) & 0xff, (portNo >>> 8) & 0xff, portNo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
