// Test-only: frames into and out of memory ports. TestDatapath is a
// NativeDatapath (so a switch agent can run over it) that can also inject a
// frame on a memory port as if it came from a wire, and take the frames the
// datapath sent out of one. Production code does not import this file, and
// the Datapath interface has neither call: a switch's memory ports are only
// reachable from here.

import { NativeDatapath, type Addon, type Handle } from './native.ts';
import type { VnetHeader } from './types.ts';
import { decodeVnet, encodeVnet, VNET_HDR_LEN } from './vnet.ts';

/** What left a memory port. */
export interface OutFrame {
  data: Uint8Array;
  /** Present when the port was opened with vnet. */
  vnet?: VnetHeader;
}

/** native/addon.c's exports for memory ports, which the provider does not use. */
interface MemoryPortCalls {
  inject(h: Handle, port: number, frame: Uint8Array, vnet?: Uint8Array): boolean;
  take(h: Handle, port: number): Uint8Array[];
}

export class TestDatapath extends NativeDatapath {
  readonly #memory = this.addon as Addon & MemoryPortCalls;

  /** A frame arrives on memory port `port` as if from a wire; false when the input ring is full. */
  inject(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean {
    return this.#memory.inject(this.handle, port, frame, vnet && encodeVnet(vnet));
  }

  /** The frames sent out of memory port `port` since the last call. */
  take(port: number): OutFrame[] {
    const withVnet = this.ports().find((p) => p.port === port)?.vnet ?? false;
    return this.#memory
      .take(this.handle, port)
      .map((b) => (withVnet ? { data: b.subarray(VNET_HDR_LEN), vnet: decodeVnet(b) } : { data: b }));
  }
}
