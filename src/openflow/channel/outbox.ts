// The bytes a switch connection is about to send, gathered into one buffer so
// that a batch of messages leaves in one socket.write (one system call) rather
// than one write per message. Bytes are appended to a slab; take() hands out
// what was appended since the last take() and never touches it again, because
// the socket may hold it until the kernel has it. A full slab is left to the
// garbage collector once its writes are done. Slabs start small and double
// with the traffic: a switch that is sent little holds 4 KB, a busy one 64 KB
// (more only while one batch needs it).

const MIN_SLAB = 4 * 1024;
const MAX_SLAB = 64 * 1024;

export class Outbox {
  private slab = Buffer.allocUnsafeSlow(MIN_SLAB);
  private start = 0;
  private end = 0;

  /** Bytes appended and not yet taken. */
  get size(): number {
    return this.end - this.start;
  }

  append(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.slab.length) this.renew(bytes.length);
    this.slab.set(bytes, this.end);
    this.end += bytes.length;
  }

  take(): Buffer {
    const out = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  /** A fresh slab with the untaken bytes at its start and room for n more. */
  private renew(n: number): void {
    const kept = this.slab.subarray(this.start, this.end);
    this.slab = Buffer.allocUnsafeSlow(Math.max(Math.min(2 * this.slab.length, MAX_SLAB), kept.length + n));
    this.slab.set(kept, 0);
    this.start = 0;
    this.end = kept.length;
  }
}
