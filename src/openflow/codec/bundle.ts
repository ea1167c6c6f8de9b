// Bundles for OpenFlow 1.3: ONF's extension EXT-230, which carries OpenFlow
// 1.4's bundle messages (1.4.1 section 7.3.9) as OFPT_EXPERIMENTER messages of
// experimenter ONF, and its errors as OFPET_EXPERIMENTER errors (errors.ts). It is what
// `ovs-ofctl -O OpenFlow13 --bundle` speaks. The message bodies are described
// here once; the experimenter header (id, exp_type) is messages.ts's.
//
// A bundle gathers messages under an id (OPEN, then ADD_MESSAGEs, CLOSE
// optional) and applies them with COMMIT, in order and, with OFPBF_ATOMIC,
// all or none; DISCARD drops them. An added message keeps its own header,
// whose xid is the ADD_MESSAGE's.

export { BUNDLE_ERR, ONF_EXPERIMENTER } from './errors.ts';
import { decodeValue, encodeValue, pad, rest, struct, u16, u32, type ValueResult } from './schema.ts';

/** exp_type of ONF's OpenFlow 1.3 bundle messages. */
export const ONFT = { BUNDLE_CONTROL: 2300, BUNDLE_ADD_MESSAGE: 2301 } as const;

/** ofp_bundle_ctrl_type. */
export const OFPBCT = {
  OPEN_REQUEST: 0,
  OPEN_REPLY: 1,
  CLOSE_REQUEST: 2,
  CLOSE_REPLY: 3,
  COMMIT_REQUEST: 4,
  COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6,
  DISCARD_REPLY: 7,
} as const;

/** ofp_bundle_flags. */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

/** ofp_bundle_ctrl_msg after the experimenter header: properties are kept as bytes. */
export const bundleControl = struct({ bundleId: u32, ctrlType: u16, flags: u16, properties: rest });
const addHeader = { bundleId: u32, _pad: pad(2), flags: u16 };
/** ofp_bundle_add_msg after the experimenter header: the message, then properties, as bytes. */
export const bundleAdd = struct({ ...addHeader, message: rest });
/** Its fixed part alone (bundleAddHeader.size bytes), for a receiver that takes the message where it lies. */
export const bundleAddHeader = struct(addHeader);

export type BundleControl = { bundleId: number; ctrlType: number; flags: number; properties: Uint8Array };
export type BundleAdd = { bundleId: number; flags: number; message: Uint8Array };
export type BundleAddHeader = Omit<BundleAdd, 'message'>;

export const decodeBundleControl = (data: Uint8Array): ValueResult<BundleControl> => decodeValue(bundleControl, data);
export const decodeBundleAdd = (data: Uint8Array): ValueResult<BundleAdd> => decodeValue(bundleAdd, data);
/** The fixed part of the ADD_MESSAGE body in data; its message is data.subarray(bundleAddHeader.size). */
export const decodeBundleAddHeader = (data: Uint8Array): ValueResult<BundleAddHeader> =>
  decodeValue(bundleAddHeader, data.subarray(0, bundleAddHeader.size));
export const encodeBundleControl = (c: BundleControl): Uint8Array => encodeValue(bundleControl, c);
export const encodeBundleAdd = (a: BundleAdd): Uint8Array => encodeValue(bundleAdd, a);
