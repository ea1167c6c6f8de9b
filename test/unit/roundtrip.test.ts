// Every message type survives encode -> decode -> encode: the decoded value equals
// the one encoded (with the default version filled in) and re-encodes to the very
// same bytes. One test per type, so a failure names the type; the values come
// from test/support/arbitraries.ts, which covers every row of the codec's tables.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OFP_VERSION } from '../../src/openflow/codec/constants.ts';
import { errorName } from '../../src/openflow/codec/errors.ts';
import { decodeMessage, encodeMessage, type Message } from '../../src/openflow/codec/messages.ts';
import { toHex } from '../../src/openflow/codec/wire.ts';
import { arbMessageOf, arbU8, MESSAGE_TYPES } from '../support/arbitraries.ts';

const RUNS = 200;

function roundTrip(m: Message): void {
  const bytes = encodeMessage(m);
  const r = decodeMessage(bytes);
  if (!r.ok) throw new Error(`${errorName(r.error)} at offset ${r.offset}: ${r.detail}; bytes ${toHex(bytes)}`);
  expect(r.msg).toStrictEqual({ ...m, version: m.version ?? OFP_VERSION });
  expect(toHex(encodeMessage(r.msg))).toBe(toHex(bytes));
}

describe('encode/decode round trip', () => {
  for (const type of MESSAGE_TYPES) {
    it(type, () => {
      fc.assert(fc.property(arbMessageOf(type), roundTrip), { numRuns: RUNS });
    });
  }

  it('encodes with an xid given apart from the message, which it leaves alone', () => {
    const m: Message = { type: 'echo_request', xid: 1, data: Uint8Array.of(7) };
    const r = decodeMessage(encodeMessage(m, 0xfedcba98));
    expect(r.ok && r.msg.xid).toBe(0xfedcba98);
    expect(m.xid).toBe(1);
  });

  // Version negotiation reads hellos of any version, so they decode whatever it is.
  it('hello of any version keeps its version', () => {
    fc.assert(
      fc.property(arbMessageOf('hello'), arbU8, (m, version) => roundTrip({ ...m, version })),
      { numRuns: RUNS },
    );
  });
});
