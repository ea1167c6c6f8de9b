// The ways a request to a switch can fail, as classes an app can tell apart with
// instanceof: the switch answered with OFPT_ERROR (OpenFlowError), or no usable
// answer came (RequestError, with the reason).

import { errorName, type MessageOf, type OfErrorCode } from '../codec/index.ts';

/** The switch answered a request with OFPT_ERROR. */
export class OpenFlowError extends Error {
  override readonly name = 'OpenFlowError';
  /** OFPET_* (the wire type). */
  readonly errType: number;
  /** OFP*C_* for the type; exp_type for OFPET_EXPERIMENTER. */
  readonly code: number;
  /** The start of the offending request, as the switch sent it back. */
  readonly data: Uint8Array;
  readonly reply: MessageOf<'error'>;

  constructor(reply: MessageOf<'error'>, readonly request: string) {
    super(`${request} failed: ${errorName({ type: reply.errType, code: reply.code, experimenter: reply.experimenter })}`);
    this.errType = reply.errType;
    this.code = reply.code;
    this.data = reply.data;
    this.reply = reply;
  }

  /** err.is(ERR.BAD_REQUEST.BAD_TABLE_ID) */
  is(e: OfErrorCode): boolean {
    return this.errType === e.type && this.code === e.code;
  }
}

export type RequestFailure =
  /** No reply within the timeout. */
  | 'timeout'
  /** The connection closed before the reply came (or before the request was sent). */
  | 'disconnected'
  /** Too many requests already wait for replies on this switch. */
  | 'overload'
  /** The reply did not decode. */
  | 'malformed';

export class RequestError extends Error {
  override readonly name = 'RequestError';

  constructor(
    readonly reason: RequestFailure,
    readonly request: string,
    detail: string,
  ) {
    super(`${request}: ${detail}`);
  }
}
