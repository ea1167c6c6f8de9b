/*
 * trace.h: what a packet trace records (tsof_pipeline_trace(), pipeline.h):
 * the walk of one frame through the pipeline as a list of events, like Open
 * vSwitch's ofproto/trace. Each event is one struct tsof_trace_event with
 * its data after it; the fields an event kind uses are listed below, the
 * others are zero. Anything OpenFlow in the data (the key, a flow's match, an
 * action) is in its wire form, so that one printer, the codec's, prints it
 * (src/switch/trace.ts).
 *
 * The walk records (walk.c) and this file writes the records: it appends them
 * to a growable buffer, control side (a trace may allocate; a frame does not).
 */
#ifndef TSOF_TRACE_H
#define TSOF_TRACE_H

#include "actions.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tsof_trace_kind {
	/* The frame's key as extracted: len; data: OXM TLVs of its fields
	 * (every field of the headers parsed, and in_port). */
	TSOF_TRACE_FLOW = 1,
	/* A table looked up: table_id; metadata (the key's, for the lookup);
	 * code 1 and priority, cookie, data (the flow's ofp_match as added),
	 * or code 0: no flow matched. */
	TSOF_TRACE_TABLE,
	/* An instruction of the flow: code OFPIT_*. METER: id (meter id) and
	 * band (0: within its rate; else the exceeded band's OFPMBT_*, its rate
	 * in arg). WRITE_ACTIONS: data (ofp_action TLVs, as the set keeps them).
	 * WRITE_METADATA: metadata, mask. GOTO_TABLE: table_id. APPLY_ACTIONS and
	 * CLEAR_ACTIONS: nothing; the actions follow as events. */
	TSOF_TRACE_INSTRUCTION,
	/* The action set runs (no goto-table left); its actions follow. */
	TSOF_TRACE_ACTION_SET,
	/* An action runs: data (one ofp_action TLV); len (the frame's length
	 * before it); code 1 for a set-field whose header the frame lacks (it does
	 * nothing). */
	TSOF_TRACE_ACTION,
	/* A group: id (group id), code (OFPGT_*), arg (the bucket taken, or
	 * TSOF_TRACE_NONE; ALL: the number of buckets). */
	TSOF_TRACE_GROUP,
	/* A bucket runs on a copy of the frame: id (group id), arg (its index). */
	TSOF_TRACE_BUCKET,
	/* OFPP_NORMAL: id (the port the destination was learned on, 0 if none:
	 * flood); code 1 if a real frame would teach it the source's port. */
	TSOF_TRACE_NORMAL,
	/* The frame leaves: id (port), arg (queue), len and data (the frame as
	 * sent). */
	TSOF_TRACE_OUTPUT,
	/* A packet-in: code (OFPR_*), table_id, cookie, arg (max_len), len and
	 * data (the whole frame; the switch cuts it to max_len). */
	TSOF_TRACE_PACKET_IN,
	/* The frame, or this copy of it, is dropped: code (TSOF_TRACE_DROP_*),
	 * id (the port, meter or table concerned). */
	TSOF_TRACE_DROP,
};

enum tsof_trace_drop {
	TSOF_TRACE_DROP_TABLE_MISS = 1,  /* no flow matched, and no table-miss flow (id: table) */
	TSOF_TRACE_DROP_NO_RECV,         /* the ingress port is NO_RECV or PORT_DOWN (id: port) */
	TSOF_TRACE_DROP_FRAGMENT,        /* an IP fragment, and OFPC_FRAG_DROP */
	TSOF_TRACE_DROP_METER,           /* a meter's drop band (id: meter) */
	TSOF_TRACE_DROP_INVALID_TTL,     /* a TTL decrement found 0 or 1 */
	TSOF_TRACE_DROP_NO_ROOM,         /* no room in the buffer to push a header */
	TSOF_TRACE_DROP_PORT,            /* output to a port that is unknown, down or NO_FWD (id: port) */
	TSOF_TRACE_DROP_IN_PORT,         /* output to the ingress port by number, not OFPP_IN_PORT (id: port) */
	TSOF_TRACE_DROP_TOO_DEEP,        /* groups nested too deep, or a frame too big to copy */
	TSOF_TRACE_DROP_NO_BUCKET,       /* a select or fast-failover group with no live bucket (id: group) */
	TSOF_TRACE_DROP_NO_PACKET_IN,    /* a packet-in from a NO_PACKET_IN port (id: port) */
	TSOF_TRACE_DROP_NORMAL,          /* NORMAL: not Ethernet, a blocked ingress port or a link-local address */
	TSOF_TRACE_DROP_NORMAL_PORT,     /* NORMAL: the destination is on the ingress port, or its port does not forward (id: port) */
};

#define TSOF_TRACE_NONE UINT32_MAX

/* Host order; records lie back to back, each padded to 8 bytes (src/switch/trace.ts reads them). */
struct tsof_trace_event {
	uint32_t size;        /* of the record, data and padding included */
	uint16_t kind;        /* enum tsof_trace_kind */
	uint16_t depth;       /* 0, one more inside each group bucket */
	uint32_t code;        /* by kind */
	uint32_t table_id;
	uint32_t id;          /* a port, group, meter or table, by kind */
	uint32_t arg;         /* by kind */
	uint32_t priority;
	uint32_t band;
	uint64_t cookie, metadata, mask;
	uint32_t len;         /* the frame's length */
	uint32_t data_len;
	uint8_t data[];
};
_Static_assert(sizeof(struct tsof_trace_event) == 64, "src/switch/trace.ts reads this layout");

/* The records so far. A failed allocation ends the recording: failed. */
struct tsof_trace {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

/* Appends ev (size, and data_len set here) with data. */
void tsof_trace_add(struct tsof_trace *tr, const struct tsof_trace_event *ev, const void *data, size_t data_len);
/* A TSOF_TRACE_FLOW event for key. */
void tsof_trace_key(struct tsof_trace *tr, const struct tsof_flow_key *key, uint32_t len);
/* Event ev with a (or the list acts) as ofp_action TLVs in its data. */
void tsof_trace_action(struct tsof_trace *tr, const struct tsof_trace_event *ev, const struct tsof_action *a);
void tsof_trace_actions(struct tsof_trace *tr, const struct tsof_trace_event *ev, const struct tsof_actions *acts);

#endif
