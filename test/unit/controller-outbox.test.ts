// The Outbox a switch connection gathers its writes in: what it hands out is
// exactly what was appended, in order, and stays intact while later bytes are
// appended (the socket may still be writing it).

import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/openflow/channel/outbox.ts';

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('Outbox', () => {
  it('hands out what was appended since the last take, across slabs, never changing what it handed out', () => {
    const box = new Outbox();
    const messages = Array.from({ length: 5000 }, (_, i) => new Uint8Array(8 + (i % 97)).fill(i & 0xff));
    const taken: Buffer[] = [];
    const copies: Buffer[] = [];
    messages.forEach((m, i) => {
      box.append(m);
      if (i % 37 === 36) {
        const out = box.take();
        taken.push(out);
        copies.push(Buffer.from(out));
        expect(box.size).toBe(0);
      }
    });
    taken.push(box.take());
    copies.push(Buffer.from(taken[taken.length - 1]));
    expect(concat(taken).equals(concat(messages))).toBe(true);
    expect(taken.every((t, i) => t.equals(copies[i]))).toBe(true);
  });

  it('takes a message larger than a slab, after what it holds', () => {
    const box = new Outbox();
    const small = new Uint8Array(10).fill(1);
    const big = new Uint8Array(200_000).fill(2);
    box.append(small);
    box.append(big);
    expect(box.size).toBe(200_010);
    expect(box.take().equals(concat([small, big]))).toBe(true);
    expect(box.take().length).toBe(0);
  });
});
