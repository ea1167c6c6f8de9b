// The packet library: headers of the frames a controller sees in packet-ins and
// sends in packet-outs. One file per protocol, each with its constants, a plain
// representation, parse (bytes -> representation, undefined when the bytes are
// too short, never a throw) and emit (representation -> bytes). Parsing starts
// at Ethernet and hands each protocol its payload as a view, so nothing is
// copied until an app keeps it.

export * from './ethernet.ts';
