// The bundles of one connection (ONF's bundle extension for OpenFlow 1.3,
// codec/bundle.ts), kept as Open vSwitch keeps them: per connection, gone with
// it, each opened, added to, closed, committed or discarded as OpenFlow 1.4's
// 7.3.9 says, and refused to a slave (the agent checks that first).
//
// Invariants:
// - Only flow mods are bundled: any other message is refused when added
//   (OFPBFC_MSG_UNSUP), as are an added message whose length, version or xid
//   is wrong.
// - The flow mods wait here as received, and the datapath judges them at
//   commit, all at once (Datapath.bundleCommit): in force together or none of
//   them, whatever the flags ask (so OFPBF_ATOMIC and OFPBF_ORDERED always
//   hold). A flow mod that fails is answered at commit, with its ADD_MESSAGE's
//   xid and bytes, then the commit with OFPBFC_MSG_FAILED.
// - Memory is bounded: at most MAX_BUNDLES bundles per connection
//   (OFPBFC_OUT_OF_BUNDLES) of at most MAX_BUNDLE_BYTES each
//   (OFPBFC_MSG_TOO_MANY for the message that would go over).

import type { Channel } from '../openflow/channel/index.ts';
import {
  BUNDLE_ERR,
  bundleAddHeader,
  decodeBundleAddHeader,
  decodeBundleControl,
  encodeBundleAdd,
  encodeBundleControl,
  encodeMessage,
  ERR,
  OFPBCT,
  OFPT,
  ONF_EXPERIMENTER,
  ONFT,
  type MessageOf,
  type OfErrorCode,
} from '../openflow/codec/index.ts';
import type { Datapath } from '../datapath/index.ts';

export const MAX_BUNDLES = 64;
/** 256 MiB: a million flow mods of a few actions each. */
export const MAX_BUNDLE_BYTES = 256 << 20;

const OFP_VERSION = 4;
const OFP_HEADER = 8;

type Fail = (e: OfErrorCode | null) => void;

/** A bundle's first buffer; it doubles as flow mods come. */
const FIRST_BUFFER = 64 * 1024;

interface Bundle {
  flags: number;
  closed: boolean;
  /** The flow mods added, each as sent (its xid is its ADD_MESSAGE's), back to back in mods[0, bytes). */
  mods: Uint8Array;
  bytes: number;
}

const newBundle = (flags: number): Bundle => ({ flags, closed: false, mods: new Uint8Array(0), bytes: 0 });

/** Appends mod to b's buffer, growing it by doubling (b.bytes + mod.length is at most MAX_BUNDLE_BYTES). */
function append(b: Bundle, mod: Uint8Array): void {
  const need = b.bytes + mod.length;
  if (need > b.mods.length) {
    const grown = new Uint8Array(Math.min(Math.max(FIRST_BUFFER, 2 * b.mods.length, need), MAX_BUNDLE_BYTES));
    grown.set(b.mods.subarray(0, b.bytes));
    b.mods = grown;
  }
  b.mods.set(mod, b.bytes);
  b.bytes = need;
}

/** The index-th flow mod of b (counting from 0). */
function modAt(b: Bundle, index: number): Uint8Array {
  let at = 0;
  for (let i = 0; i < index; i++) at += (b.mods[at + 2] << 8) | b.mods[at + 3];
  return b.mods.subarray(at, at + ((b.mods[at + 2] << 8) | b.mods[at + 3]));
}

export class Bundles {
  readonly #open = new Map<number, Bundle>();

  constructor(
    private readonly dp: Datapath,
    private readonly ch: Channel,
  ) {}

  /** An OFPT_EXPERIMENTER message of ONF's: a bundle control or add, else OFPBRC_BAD_EXP_TYPE. */
  handle(msg: MessageOf<'experimenter'>, fail: Fail): void {
    if (msg.expType === ONFT.BUNDLE_CONTROL) return this.#control(msg, fail);
    if (msg.expType === ONFT.BUNDLE_ADD_MESSAGE) return this.#add(msg, fail);
    fail(ERR.BAD_REQUEST.BAD_EXP_TYPE);
  }

  #control(msg: MessageOf<'experimenter'>, fail: Fail): void {
    const r = decodeBundleControl(msg.data);
    if (!r.ok) return fail(r.error);
    const { bundleId, ctrlType, flags } = r.value;
    const b = this.#open.get(bundleId);
    const reply = (ctrlType: number): void => {
      this.ch.send({
        type: 'experimenter',
        xid: msg.xid,
        experimenter: ONF_EXPERIMENTER,
        expType: ONFT.BUNDLE_CONTROL,
        data: encodeBundleControl({ bundleId, ctrlType, flags: 0, properties: new Uint8Array(0) }),
      });
    };
    // Open vSwitch's order of checks: an unknown id, then the state, then the flags; a bundle found wanting is dropped.
    const refuse = (e: OfErrorCode) => {
      this.#open.delete(bundleId);
      fail(e);
    };
    switch (ctrlType) {
      case OFPBCT.OPEN_REQUEST:
        if (b) return refuse(BUNDLE_ERR.BAD_ID);
        if (this.#open.size >= MAX_BUNDLES) return fail(BUNDLE_ERR.OUT_OF_BUNDLES);
        this.#open.set(bundleId, newBundle(flags));
        return reply(OFPBCT.OPEN_REPLY);
      case OFPBCT.CLOSE_REQUEST:
        if (!b) return fail(BUNDLE_ERR.BAD_ID);
        if (b.closed) return refuse(BUNDLE_ERR.BUNDLE_CLOSED);
        if (b.flags !== flags) return refuse(BUNDLE_ERR.BAD_FLAGS);
        b.closed = true;
        return reply(OFPBCT.CLOSE_REPLY);
      case OFPBCT.COMMIT_REQUEST: {
        if (!b) return fail(BUNDLE_ERR.BAD_ID);
        // Committed or not, the bundle is over.
        this.#open.delete(bundleId);
        if (b.flags !== flags) return fail(BUNDLE_ERR.BAD_FLAGS);
        const failed = this.dp.bundleCommit(b.mods.subarray(0, b.bytes));
        if (failed) {
          // Answered for its ADD_MESSAGE (the same xid), whose bytes are the mod's behind ADD_HEADER ones.
          const mod = modAt(b, failed.index);
          const add = addMessage(bundleId, b.flags, mod);
          this.ch.sendError(add.xid, failed.error, encodeMessage(add));
          return fail(BUNDLE_ERR.MSG_FAILED);
        }
        return reply(OFPBCT.COMMIT_REPLY);
      }
      case OFPBCT.DISCARD_REQUEST:
        if (!b) return fail(BUNDLE_ERR.BAD_ID);
        this.#open.delete(bundleId);
        return reply(OFPBCT.DISCARD_REPLY);
      default:
        return fail(BUNDLE_ERR.BAD_TYPE);
    }
  }

  #add(msg: MessageOf<'experimenter'>, fail: Fail): void {
    const r = decodeBundleAddHeader(msg.data);
    if (!r.ok) return fail(r.error);
    const { bundleId, flags } = r.value;
    const message = msg.data.subarray(bundleAddHeader.size);
    const innerLen = message.length >= OFP_HEADER ? (message[2] << 8) | message[3] : 0;
    if (innerLen < OFP_HEADER || innerLen > message.length) return fail(BUNDLE_ERR.MSG_BAD_LEN);
    if (message[0] !== OFP_VERSION) return fail(ERR.BAD_REQUEST.BAD_VERSION);
    if (new DataView(message.buffer, message.byteOffset).getUint32(4) !== msg.xid) return fail(BUNDLE_ERR.MSG_BAD_XID);
    if (message[1] !== OFPT.FLOW_MOD) return fail(BUNDLE_ERR.MSG_UNSUP);
    let b = this.#open.get(bundleId);
    if (!b) {
      // An ADD_MESSAGE may open its bundle (7.3.9.4).
      if (this.#open.size >= MAX_BUNDLES) return fail(BUNDLE_ERR.OUT_OF_BUNDLES);
      this.#open.set(bundleId, (b = newBundle(flags)));
    } else if (b.closed || b.flags !== flags) {
      this.#open.delete(bundleId);
      return fail(b.closed ? BUNDLE_ERR.BUNDLE_CLOSED : BUNDLE_ERR.BAD_FLAGS);
    }
    if (b.bytes + innerLen > MAX_BUNDLE_BYTES) return fail(BUNDLE_ERR.MSG_TOO_MANY);
    // Properties after it, if any, are not kept.
    append(b, message.subarray(0, innerLen));
  }
}

/** The ADD_MESSAGE that carried a mod (without the properties it may have had). */
const addMessage = (bundleId: number, flags: number, mod: Uint8Array) =>
  ({
    type: 'experimenter',
    xid: new DataView(mod.buffer, mod.byteOffset).getUint32(4),
    experimenter: ONF_EXPERIMENTER,
    expType: ONFT.BUNDLE_ADD_MESSAGE,
    data: encodeBundleAdd({ bundleId, flags, message: mod }),
  }) as const;

