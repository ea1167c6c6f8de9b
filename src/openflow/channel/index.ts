// The OpenFlow channel: one connection between a switch and a controller, as
// both ends need it (framing, HELLO, echo, requests by xid, error replies to
// bad input, batched writes). See channel.ts for its invariants. The switch
// agent (src/switch/) and the controller SDK (src/controller/) are built on it;
// it knows the codec and nothing above.

export { Channel, ERROR_DATA_LEN, type ChannelEvents, type ChannelOptions, type MultipartType, type Outgoing, type ReplyTo, type RequestType } from './channel.ts';
export { OpenFlowError, RequestError, type RequestFailure } from './errors.ts';
export { Outbox } from './outbox.ts';
