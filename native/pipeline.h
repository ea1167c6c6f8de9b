/*
 * pipeline.h: the OpenFlow 1.3 pipeline (OpenFlow 1.3.5 section 5): flow
 * tables, instructions, the action set, groups and meters, and the flow-,
 * group- and meter-mod semantics of 6.4-6.6.
 *
 * Two sides:
 * - The control side (the switch agent, in Node's thread or any other) changes
 *   the tables with flow, group and meter mods (mod.h: decoded from the wire
 *   first, with no lock, then applied), which return 0 or the OpenFlow error
 *   to send, TSOF_ERR(type, code). Control calls are serialised by a lock
 *   inside the pipeline. They may allocate.
 * - Datapath threads, each with its own struct tsof_pl_thread, run frames
 *   through the tables with tsof_pipeline_process(): no lock, no allocation, no
 *   I/O. Frames leave through the output callback, controller-bound ones
 *   through packet_in; the datapath queues and sends them.
 *
 * Atomic updates: every change is made at a version no datapath thread uses
 * yet (classifier.h, rcu.h) and becomes visible when the pipeline's version
 * is published, at the end of each control call, or of a begin/commit batch.
 * A thread reads the version once per frame, so a frame sees the tables,
 * groups and meters as they were before a change or after it, never halfway,
 * and never some tables changed and others not. Memory a thread may still be
 * reading is freed after it passes tsof_pipeline_quiesce().
 *
 * OFPP_NORMAL is an L2 learning switch (mac_learning.h): learned on the
 * datapath side, forgotten when a port goes down or away.
 *
 * Not implemented: packet buffering (buffer_id is the caller's: answer
 * OFPBRC_BUFFER_UNKNOWN), OFPC_FRAG_REASM (treated as OFPC_FRAG_NORMAL),
 * IP-in-IP TTL copies, and checks of set-field actions against the flow's
 * match.
 */
#ifndef TSOF_PIPELINE_H
#define TSOF_PIPELINE_H

#include "actions.h"
#include "ofp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSOF_N_TABLES 254   /* table ids 0..253 (OFPTT_MAX is 254) */

struct tsof_pipeline;
struct tsof_pl_thread;

/* A frame for the controller. Datapath side, valid during the call. */
struct tsof_packet_in {
	uint8_t reason;        /* OFPR_* */
	uint8_t table_id;
	uint64_t cookie;       /* the flow's, or all-ones from an action set or group (A.4.1) */
	uint32_t in_port, in_phy_port;
	uint64_t metadata, tunnel_id;
	const uint8_t *data;
	uint32_t len;          /* the whole frame: total_len */
	uint16_t max_len;      /* bytes asked for (OFPCML_NO_BUFFER: all); the caller truncates */
};

/* A flow that left its table, for OFPT_FLOW_REMOVED. Control side. */
struct tsof_flow_removed {
	uint8_t table_id, reason;   /* OFPRR_* */
	uint16_t priority, idle_timeout, hard_timeout;
	uint64_t cookie, packets, bytes, duration_ns;
	const uint8_t *match;       /* the ofp_match it was added with */
	size_t match_len;
};

struct tsof_pipeline_ops {
	/* Datapath side; ctx is the thread's. A frame to send on port (never a
	 * reserved port but OFPP_LOCAL), valid during the call. */
	void (*output)(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *pkt);
	void (*packet_in)(void *ctx, const struct tsof_packet_in *pin);
	/* Fast-failover liveness; NULL: a port is live when it is in the port
	 * table, not OFPPC_PORT_DOWN and not OFPPS_LINK_DOWN. */
	bool (*port_live)(void *ctx, uint32_t port);
	/* Control side, with the pipeline's lock held: do not call back in.
	 * A removed flow's report comes from reclaim or settle, one grace
	 * period after its removal (or from free). */
	void (*flow_removed)(void *arg, const struct tsof_flow_removed *fr);
	void *arg;
};

struct tsof_pipeline *tsof_pipeline_new(const struct tsof_pipeline_ops *ops);
/* Every thread must have been freed. */
void tsof_pipeline_free(struct tsof_pipeline *pl);

/* ---- control side ---- */

/* OFPT_SET_CONFIG: flags (OFPC_FRAG_DROP drops fragments before table 0) and
 * miss_send_len (the max_len of invalid-TTL packet-ins). */
void tsof_pipeline_set_config(struct tsof_pipeline *pl, uint16_t flags, uint16_t miss_send_len);
/* Adds or updates a port: its OFPPC_* config and OFPPS_* state. A port
 * that is PORT_DOWN or LINK_DOWN, or deleted, loses the addresses NORMAL
 * learned on it. */
int tsof_pipeline_port_set(struct tsof_pipeline *pl, uint32_t port_no, uint32_t config, uint32_t state);
void tsof_pipeline_port_del(struct tsof_pipeline *pl, uint32_t port_no);
/* How long NORMAL remembers an address it has not seen (seconds, default
 * 300 as in Open vSwitch; 0 remembers nothing). Any thread. */
void tsof_pipeline_set_mac_aging(struct tsof_pipeline *pl, unsigned seconds);
/* Flows per table before OFPFMFC_TABLE_FULL, unless set otherwise. */
#define TSOF_DEFAULT_MAX_FLOWS (1u << 20)
void tsof_pipeline_set_max_flows(struct tsof_pipeline *pl, unsigned max_flows);

/* Changes between begin and commit become visible together. (A failed
 * change inside is not rolled back: this is not an OpenFlow bundle.) */
void tsof_pipeline_begin(struct tsof_pipeline *pl);
void tsof_pipeline_commit(struct tsof_pipeline *pl);

/* Removes the flows whose idle or hard timeout has passed (reporting
 * them, as every removal is, once reclaim finds no thread can count on them
 * any more), and returns how many. */
unsigned tsof_pipeline_expire(struct tsof_pipeline *pl, uint64_t now);
/* Frees what no datapath thread can reach any more; returns how many
 * deferred steps ran. Call it now and then (with expire, say). */
unsigned tsof_pipeline_reclaim(struct tsof_pipeline *pl);
/* Returns once every flow removed so far is reported (ops.flow_removed),
 * reclaiming until then: a removed flow is reported one grace period after
 * its removal is published, when no thread can count a packet on it any more.
 * Each datapath thread ends its batch or goes offline before long, so this
 * returns; it sleeps without the lock meanwhile. Never on a datapath thread
 * (it would wait for itself), and inside begin()/commit() it returns at once:
 * what was removed there goes out only at the commit. */
void tsof_pipeline_settle(struct tsof_pipeline *pl);

/* Packet-out actions (ofp_action list; OFPP_TABLE allowed): decoded with no
 * lock, then their groups resolved under it. The result is the caller's to
 * free with tsof_actions_free(), on any thread. */
int tsof_pipeline_parse_actions(struct tsof_pipeline *pl, const uint8_t *p, size_t len,
				struct tsof_actions **out);

/* Traces a frame received on in_port through the pipeline as it is now, like
 * Open vSwitch's ofproto/trace: the tables, flows, instructions, actions,
 * groups, meters and outcome it meets are appended to tr as events
 * (trace.h), and nothing changes: no frame leaves, no packet-in, no counter
 * of a flow, table, group, meter, port or thread moves, no meter token is
 * taken, NORMAL learns nothing, no cache fills. Control side (under the
 * lock); ops.port_live is asked with ctx NULL. 0, or -1 when out of memory
 * or the frame is over 64 KiB; the caller frees tr->buf either way. */
struct tsof_trace;
int tsof_pipeline_trace(struct tsof_pipeline *pl, const uint8_t *frame, uint32_t len, uint32_t in_port,
			uint64_t now, struct tsof_trace *tr);

/* ---- statistics (control side) ---- */

struct tsof_flow_filter {     /* as in a flow stats request */
	uint8_t table_id;         /* or OFPTT_ALL */
	uint32_t out_port, out_group;
	uint64_t cookie, cookie_mask;
	const uint8_t *match;     /* ofp_match */
	size_t match_len;
};

struct tsof_flow_stats {
	uint8_t table_id;
	uint16_t priority, idle_timeout, hard_timeout, flags;
	uint64_t cookie, packets, bytes, duration_ns;
	const uint8_t *match;     /* as added */
	size_t match_len;
	const uint8_t *insts;     /* as last set */
	size_t insts_len;
};

/* The filter of an OFPT_MULTIPART_REQUEST of type OFPMP_FLOW (A.3.5.2), the
 * whole message; the match points into it. 0 or OFPBRC_BAD_LEN. */
int tsof_flow_stats_request_decode(const uint8_t *msg, size_t len, struct tsof_flow_filter *f);

/* Calls cb for each flow the filter selects. 0 or the match's error. */
int tsof_pipeline_flow_stats(struct tsof_pipeline *pl, const struct tsof_flow_filter *f, uint64_t now,
			     void (*cb)(void *arg, const struct tsof_flow_stats *fs), void *arg);

struct tsof_table_stats {
	uint32_t active;
	uint64_t lookups, matched;
};
void tsof_pipeline_table_stats(struct tsof_pipeline *pl, uint8_t table_id, struct tsof_table_stats *ts);

struct tsof_group_stats {
	uint32_t group_id, ref_count, n_buckets;
	uint8_t type;
	uint64_t packets, bytes, duration_ns;
	const uint64_t *bucket_packets, *bucket_bytes;  /* n_buckets each */
	const uint8_t *buckets;   /* the ofp_bucket list, for group desc */
	size_t buckets_len;
};
/* group_id OFPG_ALL: every group. Returns the number reported. */
unsigned tsof_pipeline_group_stats(struct tsof_pipeline *pl, uint32_t group_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_group_stats *gs), void *arg);

struct tsof_meter_stats_reply {
	uint32_t meter_id, flow_count, n_bands;
	uint16_t flags;
	uint64_t packets, bytes, duration_ns;
	const uint64_t *band_packets, *band_bytes;
	const uint8_t *bands;     /* the ofp_meter_band list, for meter config */
	size_t bands_len;
};
unsigned tsof_pipeline_meter_stats(struct tsof_pipeline *pl, uint32_t meter_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_meter_stats_reply *ms), void *arg);

/* ---- datapath side ---- */

/* NULL when TSOF_RCU_MAX_READERS threads exist. ctx goes to the callbacks. */
struct tsof_pl_thread *tsof_pipeline_thread_new(struct tsof_pipeline *pl, void *ctx);
void tsof_pipeline_thread_free(struct tsof_pl_thread *t);
/* Turns the exact-match cache off (for tests that compare). */
void tsof_pipeline_thread_use_emc(struct tsof_pl_thread *t, bool on);

/* Runs a received frame from table 0. The buffer may be edited in place
 * (pkt->data, len and the rooms change with pushes and pops). */
void tsof_pipeline_process(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt, uint64_t now);
/* Runs packet-out actions on a frame (OFPP_TABLE sends a copy through the
 * tables). */
void tsof_pipeline_packet_out(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt,
			      const struct tsof_actions *acts, uint64_t now);

/* A point between batches where the thread holds nothing from the tables. */
void tsof_pipeline_quiesce(struct tsof_pl_thread *t);
/* Around a blocking wait: an offline thread holds nobody up. */
void tsof_pipeline_offline(struct tsof_pl_thread *t);
void tsof_pipeline_online(struct tsof_pl_thread *t);

struct tsof_pl_thread_stats {
	uint64_t packets;       /* frames processed (packet-outs too) */
	uint64_t emc_hits;
	uint64_t cls_lookups;   /* classifier lookups after an EMC miss */
	uint64_t table_misses;  /* dropped: no flow and no table-miss flow */
	uint64_t invalid_ttl;
	uint64_t meter_drops;
	uint64_t dropped;       /* no room to push, too deep, fragment, bad port */
	uint64_t outputs;
	uint64_t packet_ins;
};
void tsof_pipeline_thread_stats(const struct tsof_pl_thread *t, struct tsof_pl_thread_stats *s);

#endif
