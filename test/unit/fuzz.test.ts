// decodeMessage() on hostile input: random bodies behind a valid header, and valid
// messages with bytes changed or cut off (the header length is fixed up, so the
// body is what gets tested). The contract checked on every input:
// - decodeMessage never throws and never answers with an internal decoder error;
// - whatever decodes re-encodes to the same bytes, except that padding and the
//   bytes after a name's terminating NUL come back as zeros (receivers ignore
//   them, as the spec's "pad" and OVS do); and the re-encoding decodes to the
//   same value. Nothing else it accepts may be lost or changed.
// Inputs that once broke the contract are kept below as a regression corpus.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OFP_VERSION } from '../../src/openflow/codec/constants.ts';
import { decodeMessage, encodeMessage, OFPMP, OFPT } from '../../src/openflow/codec/messages.ts';
import { fromHex, toHex } from '../../src/openflow/codec/wire.ts';
import { arbMessage, arbU16, arbU32, arbU8 } from '../support/arbitraries.ts';

const RUNS = 1000;

function holdsContract(bytes: Uint8Array): void {
  const hex = toHex(bytes);
  const r = decodeMessage(bytes);
  if (!r.ok) {
    expect(r.detail, `input ${hex}`).not.toMatch(/internal decoder error/);
    return;
  }
  let again: Uint8Array;
  try {
    again = encodeMessage(r.msg);
  } catch (e) {
    throw new Error(`the decoded ${r.msg.type} does not re-encode (${(e as Error).message}); input ${hex}`);
  }
  const what = `re-encoding the ${r.msg.type} decoded from ${hex}`;
  expect(again.length, what).toBe(bytes.length);
  const changed = [...again.keys()].filter((i) => again[i] !== bytes[i]);
  expect(changed.filter((i) => again[i] !== 0), `${what}: bytes changed to non-zero values`).toEqual([]);
  const back = decodeMessage(again);
  expect(back.ok && back.msg, what).toEqual(r.msg);
}

/** A header of OpenFlow 1.3 with the right length in front of `body`. */
function frame(type: number, xid: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + body.length);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, OFP_VERSION);
  dv.setUint8(1, type);
  dv.setUint16(2, b.length);
  dv.setUint32(4, xid);
  b.set(body, 8);
  return b;
}

/** `b` with its header length set to its size, so the body is what gets judged. */
function fixLength(b: Uint8Array): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint16(2, b.length);
  return b;
}

const MULTIPART_TYPES = Object.values(OFPMP);

/** A multipart header of a known type, so random bytes reach the multipart bodies too. */
const arbMultipartBody = fc
  .tuple(fc.constantFrom(...MULTIPART_TYPES), arbU16, fc.uint8Array({ maxLength: 120 }))
  .map(([mp, flags, rest]) => {
    const b = new Uint8Array(8 + rest.length);
    new DataView(b.buffer).setUint16(0, mp);
    new DataView(b.buffer).setUint16(2, flags);
    b.set(rest, 8);
    return b;
  });

const arbRandomFrame = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 35 }), arbU32, fc.uint8Array({ maxLength: 128 }))
    .map(([t, x, body]) => frame(t, x, body)),
  fc
    .tuple(fc.constantFrom(OFPT.MULTIPART_REQUEST, OFPT.MULTIPART_REPLY), arbU32, arbMultipartBody)
    .map(([t, x, body]) => frame(t, x, body)),
);

/** A valid message with 1 to 4 body bytes overwritten. */
const arbMutated = fc
  .tuple(arbMessage, fc.array(fc.tuple(fc.nat(), arbU8), { minLength: 1, maxLength: 4 }))
  .map(([m, edits]) => {
    const b = encodeMessage(m);
    if (b.length > 8) for (const [at, v] of edits) b[8 + (at % (b.length - 8))] = v;
    return b;
  });

/** A valid message cut short after its header: anywhere, or by a few bytes where trailing fields and padding are. */
const arbTruncated = fc.tuple(arbMessage, fc.boolean(), fc.nat()).map(([m, nearEnd, n]) => {
  const b = encodeMessage(m);
  const body = b.length - 8;
  if (body === 0) return b;
  const cut = nearEnd ? 1 + (n % Math.min(8, body)) : 1 + (n % body);
  return fixLength(b.slice(0, b.length - cut));
});

describe('decodeMessage on hostile input', () => {
  it('random bodies behind a valid header', () => {
    fc.assert(fc.property(arbRandomFrame, holdsContract), { numRuns: RUNS });
  });

  it('valid messages with bytes overwritten', () => {
    fc.assert(fc.property(arbMutated, holdsContract), { numRuns: RUNS });
  });

  it('valid messages cut short', () => {
    fc.assert(fc.property(arbTruncated, holdsContract), { numRuns: RUNS });
  });
});

// Inputs that once broke the contract, smallest first found for each code path:
// each decoded to a value that re-encoded to other bytes or not at all.
const PORT_STATUS_HEAD = '040c0050 00000001 00 00000000000000 00000001 00000000 000000000001 0000';
const PORT_STATUS_TAIL = '00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000';
const CORPUS: [what: string, hex: string][] = [
  ['table_mod with a non-zero pad byte', '04110010 00000001 00 010000 00000000'],
  ['desc_request with a non-zero byte in the multipart header padding', '04120010 00000001 0000 0000 00000001'],
  [
    'aggregate_stats_request with a non-zero byte in the padding after its match',
    '04120038 00000001 0002 0000 00000000 ff 000000 ffffffff ffffffff 00000000 0000000000000000 0000000000000000' +
      ' 0001 0004 00000001',
  ],
  ['hello with a non-zero byte in the padding after an element', '04000010 00000001 0002 0005 01 010000'],
  [
    'packet_out with a non-zero byte in the padding of a set_field',
    '040d0028 00000001 ffffffff 00000001 0010 000000000000 0019 0010 80000c02 1001 000000000001',
  ],
  [
    'port_status whose port name has bytes after its NUL',
    `${PORT_STATUS_HEAD} 61006200000000000000000000000000 ${PORT_STATUS_TAIL}`,
  ],
  ['port_status whose port name is not UTF-8', `${PORT_STATUS_HEAD} ${'ff'.repeat(16)} ${PORT_STATUS_TAIL}`],
  [
    'packet_in without the 2 pad bytes after its match',
    '040a0020 00000001 ffffffff 0000 00 00 0000000000000000 0001 0004 00000000',
  ],
];

describe('fuzz regression corpus', () => {
  for (const [what, hex] of CORPUS) {
    it(what, () => holdsContract(fromHex(hex)));
  }
});
