// The framer must give back exactly the messages that were sent, whatever the
// chunk boundaries, stop for good on a length under 8, pass a wrong version on
// as a non-fatal error, and hand out views of the chunk when nothing spans it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERR } from '../../src/openflow/codec/errors.ts';
import { Framer, type Frame } from '../../src/openflow/codec/framer.ts';

/** A message with a correct length field; the body is a recognisable ramp. */
function msg(version: number, type: number, bodyLen: number, xid = 1): Uint8Array {
  const m = new Uint8Array(8 + bodyLen);
  const dv = new DataView(m.buffer);
  dv.setUint8(0, version);
  dv.setUint8(1, type);
  dv.setUint16(2, m.length);
  dv.setUint32(4, xid);
  for (let i = 8; i < m.length; i++) m[i] = (i * 7 + xid) & 0xff;
  return m;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Pushes the stream cut at the given offsets and returns every frame. */
function feed(stream: Uint8Array, cuts: number[], f = new Framer()): Frame[] {
  const frames: Frame[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    frames.push(...f.push(stream.slice(prev, c)));
    prev = c;
  }
  return frames;
}

/** Frames as plain arrays, so toEqual compares bytes and not buffer identity. */
const okBytes = (frames: Frame[]): number[][] =>
  frames.map((fr) => {
    expect(fr.ok).toBe(true);
    return [...fr.bytes!];
  });
const plain = (msgs: Uint8Array[]): number[][] => msgs.map((m) => [...m]);

const hello = msg(4, 0, 0, 10);
const echo = msg(4, 2, 5, 11); // echo request with 5 bytes of data
const big = msg(4, 10, 56, 12); // 64 bytes in all
const features = msg(4, 5, 0, 13);
const all = [hello, echo, big, features];
const stream = concat(...all);

describe('Framer splitting', () => {
  it('yields the original messages at every two-way split', () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = new Framer();
      expect(okBytes(feed(stream, [i], f)), `split at ${i}`).toEqual(plain(all));
      expect(f.buffered).toBe(0);
    }
  });

  it('yields the original messages at every three-way split', () => {
    const small = [hello, echo, features];
    const s = concat(...small);
    for (let i = 0; i <= s.length; i++) {
      for (let j = i; j <= s.length; j++) {
        expect(okBytes(feed(s, [i, j])), `split at ${i}, ${j}`).toEqual(plain(small));
      }
    }
  });

  it('yields the original messages one byte at a time, holding the partial bytes', () => {
    const f = new Framer();
    const frames: Frame[] = [];
    let inMessage = 0;
    let next = 0;
    for (let i = 0; i < stream.length; i++) {
      const got = f.push(stream.subarray(i, i + 1));
      inMessage++;
      if (inMessage === all[next].length) {
        expect(got.length, `byte ${i}`).toBe(1);
        inMessage = 0;
        next++;
      } else {
        expect(got, `byte ${i}`).toEqual([]);
      }
      expect(f.buffered).toBe(inMessage);
      frames.push(...got);
    }
    expect(okBytes(frames)).toEqual(plain(all));
  });

  it('yields many messages from one chunk', () => {
    const many = Array.from({ length: 300 }, (_, i) => msg(4, i % 30, i % 70, i));
    const frames = new Framer().push(concat(...many));
    expect(okBytes(frames)).toEqual(plain(many));
  });

  it('yields the same messages for random messages cut at random points', () => {
    const arbMsg = fc
      .record({ type: fc.integer({ min: 0, max: 29 }), body: fc.uint8Array({ maxLength: 120 }), xid: fc.nat() })
      .map(({ type, body, xid }) => {
        const m = msg(4, type, body.length, xid);
        m.set(body, 8);
        return m;
      });
    fc.assert(
      fc.property(
        fc.array(arbMsg, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 15 }),
        (msgs, rawCuts) => {
          const s = concat(...msgs);
          const cuts = rawCuts.map((c) => c % (s.length + 1)).sort((a, b) => a - b);
          const f = new Framer();
          expect(okBytes(feed(s, cuts, f))).toEqual(plain(msgs));
          expect(f.buffered).toBe(0);
        },
      ),
    );
  });

  it('copies a message that spans chunks, so later reuse of the chunk cannot change it', () => {
    const f = new Framer();
    const a = big.slice(0, 30);
    const b = big.slice(30);
    expect(f.push(a)).toEqual([]);
    const [fr] = f.push(b);
    a.fill(0);
    b.fill(0);
    expect([...fr.bytes!]).toEqual([...big]);
  });
});

describe('Framer errors', () => {
  for (const badLen of [0, 7]) {
    const bad = new Uint8Array([4, 2, 0, badLen, 0, 0, 0, 9]);

    it(`stops for good at length ${badLen} after two good messages`, () => {
      const f = new Framer();
      const frames = f.push(concat(hello, echo, bad, features));
      expect(frames.length).toBe(3);
      expect(okBytes(frames.slice(0, 2))).toEqual(plain([hello, echo]));
      const err = frames[2];
      expect(err).toMatchObject({ ok: false, fatal: true, error: ERR.BAD_REQUEST.BAD_LEN });
      expect(err.ok === false && err.detail).toContain(`length ${badLen}`);
      expect([...err.bytes!]).toEqual([...bad]);
      expect(f.buffered).toBe(0);
      // Dead: nothing more comes out, not even the same error again.
      expect(f.push(features)).toEqual([]);
      expect(f.push(bad)).toEqual([]);
      expect(f.buffered).toBe(0);
    });

    it(`stops at length ${badLen} wherever the stream is split`, () => {
      const s = concat(hello, echo, bad, features);
      for (let i = 0; i <= s.length; i++) {
        const f = new Framer();
        const frames = feed(s, [i], f);
        expect(frames.map((fr) => fr.ok), `split at ${i}`).toEqual([true, true, false]);
        expect(f.buffered).toBe(0);
        expect(frames[2]).toMatchObject({ fatal: true, error: ERR.BAD_REQUEST.BAD_LEN });
        expect([...frames[2].bytes!]).toEqual([...bad]);
      }
    });
  }

  it('passes a wrong-version message on as a non-fatal error and goes on', () => {
    const v5 = msg(5, 2, 3, 20);
    const s = concat(echo, v5, big);
    for (let i = 0; i <= s.length; i++) {
      const f = new Framer();
      const frames = feed(s, [i], f);
      expect(frames.length, `split at ${i}`).toBe(3);
      expect(okBytes([frames[0], frames[2]])).toEqual(plain([echo, big]));
      const err = frames[1];
      expect(err).toMatchObject({ ok: false, fatal: false, error: ERR.BAD_REQUEST.BAD_VERSION });
      expect(err.ok === false && err.detail).toContain('0x05');
      expect([...err.bytes!]).toEqual([...v5]);
      expect(f.buffered).toBe(0);
    }
  });

  it('accepts HELLO with any version from 1, and nothing else off-version', () => {
    const kinds = (m: Uint8Array, f = new Framer()): boolean[] => f.push(m).map((fr) => fr.ok);
    expect(kinds(msg(1, 0, 0))).toEqual([true]);
    expect(kinds(msg(5, 0, 8))).toEqual([true]);
    expect(kinds(msg(0, 0, 0))).toEqual([false]);
    expect(kinds(msg(0, 2, 0))).toEqual([false]);
    expect(kinds(msg(1, 2, 0))).toEqual([false]);
    expect(kinds(msg(5, 2, 0))).toEqual([false]);
  });

  it('checks against the version it was given', () => {
    const kinds = (m: Uint8Array): boolean[] => new Framer({ version: 1 }).push(m).map((fr) => fr.ok);
    expect(kinds(msg(1, 2, 0))).toEqual([true]);
    expect(kinds(msg(4, 2, 0))).toEqual([false]);
    expect(kinds(msg(4, 0, 0))).toEqual([true]);
  });

  it('refuses a version that cannot be on the wire', () => {
    expect(() => new Framer({ version: 0 })).toThrow(RangeError);
    expect(() => new Framer({ version: 256 })).toThrow(RangeError);
  });
});

describe('Framer views', () => {
  it('returns views of a chunk of whole messages, without copying', () => {
    const chunk = concat(hello, echo, big);
    const frames = new Framer().push(chunk);
    expect(frames.length).toBe(3);
    let off = 0;
    for (const fr of frames) {
      expect(fr.bytes!.buffer).toBe(chunk.buffer);
      expect(fr.bytes!.byteOffset).toBe(off);
      off += fr.bytes!.length;
    }
  });

  it('returns views of the whole messages after one that spanned chunks', () => {
    const f = new Framer();
    f.push(echo.slice(0, 4));
    const chunk = concat(echo.slice(4), big, hello);
    const frames = f.push(chunk);
    expect(okBytes(frames)).toEqual(plain([echo, big, hello]));
    expect(frames[0].bytes!.buffer).not.toBe(chunk.buffer);
    expect(frames[1].bytes!.buffer).toBe(chunk.buffer);
    expect(frames[2].bytes!.buffer).toBe(chunk.buffer);
  });
});
