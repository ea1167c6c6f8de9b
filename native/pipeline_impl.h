/*
 * pipeline_impl.h: the pipeline's insides, shared by the files that make it
 * up. Callers have pipeline.h and mod.h.
 *
 *   pipeline.c    the object: creation, the writer's lock, versions and their
 *                 publication, deferred frees, configuration
 *   walk.c        datapath threads, and a frame's walk through the tables
 *   mod_decode.c  flow, group and meter mods from the wire, completely, with
 *                 no lock and no look at the tables
 *   mod_apply.c   decoded mods applied under the lock, groups and meters
 *                 resolved (packet-out actions' too); flow expiry
 *   timer_wheel.c the wheel of the flows' timeouts that expiry walks
 *   stats.c       flow, table, group, meter and thread statistics
 *   port_table.c  the port table the walk forwards by
 *
 * Everything here is the writer's (under pl->lock) unless it says it is the
 * datapath's: what a datapath thread reads is published with a release store
 * and read at the version it took for its frame (pipeline.h).
 */
#ifndef TSOF_PIPELINE_IMPL_H
#define TSOF_PIPELINE_IMPL_H

#include "classifier.h"
#include "group.h"
#include "idmap.h"
#include "mac_learning.h"
#include "meter.h"
#include "pipeline.h"
#include "rcu.h"
#include "timer_wheel.h"

#include <pthread.h>
#include <stdatomic.h>

#define PL_MAX_THREADS TSOF_RCU_MAX_READERS
#define NS_PER_SEC 1000000000ull
/* Timers expiry looks at per hold of the lock (mod_apply.c). */
#define PL_EXPIRE_BATCH 4096u

#define BAD_INST(code) TSOF_ERR(TSOF_OFPET_BAD_INSTRUCTION, TSOF_OFPBIC_##code)
#define FLOW_ERR(code) TSOF_ERR(TSOF_OFPET_FLOW_MOD_FAILED, TSOF_OFPFMFC_##code)
#define GROUP_ERR(code) TSOF_ERR(TSOF_OFPET_GROUP_MOD_FAILED, TSOF_OFPGMFC_##code)
#define METER_ERR(code) TSOF_ERR(TSOF_OFPET_METER_MOD_FAILED, TSOF_OFPMMFC_##code)
#define BAD_LEN TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_LEN)

/* A flow's instructions: a versioned value (rcu.h). Decoded with its meter
 * and groups named by id (mod_decode.c); the apply step takes a reference to
 * each before a datapath thread can see it. */
struct tsof_insts {
	struct tsof_vnode v;
	struct tsof_meter *meter;           /* with a reference */
	struct tsof_actions *apply, *write; /* write: an action set */
	uint64_t metadata, metadata_mask;
	uint32_t meter_id;                  /* 0: no meter instruction (a meter 0 never resolves) */
	int16_t goto_table;                 /* -1: none */
	bool clear, write_metadata;
	uint32_t wire_len;
	uint8_t wire[];                     /* as received, for stats replies */
};

struct tsof_flow {
	struct tsof_cls_rule rule;
	struct tsof_rcu_cb rcu;              /* unlink, then free */
	struct tsof_vnode *_Atomic insts;    /* the newest struct tsof_insts */
	_Atomic uint64_t n_packets, n_bytes, used;
	uint64_t cookie, created;
	uint16_t priority, idle_timeout, hard_timeout, flags;
	uint8_t table_id;
	bool table_miss;                     /* priority 0, empty match (5.4) */
	struct tsof_pipeline *pl;
	struct tsof_flow *prev, *next;       /* the table's list: writer side */
	struct tsof_flow *gc_next;           /* removed at the pending version */
	/* Removed, to be reported (OFPFF_SEND_FLOW_REM) once no thread can
	 * count on it any more: why (OFPRR_*) and when. */
	bool report;
	uint8_t removed_reason;
	uint64_t removed_at;
	struct tsof_timer timer;             /* on pl->timeouts if it has a timeout */
	uint32_t match_len;
	uint8_t match_wire[];                /* the ofp_match as added */
};

struct pl_table {
	struct tsof_cls cls;
	_Atomic uint64_t changed;   /* the version of its latest change, for the EMC */
	struct tsof_flow *head, *tail;
	unsigned n_flows;
	bool touched;               /* changed at the pending version */
	uint64_t lookups, matched;  /* of threads that are gone */
};

struct pl_port {
	uint32_t port_no, config, state;
};

/* The port table: replaced whole on a change (port_table.c). */
struct pl_ports {
	struct tsof_rcu_cb rcu;
	uint32_t n;
	struct pl_port p[];         /* by port number */
};

struct pl_counters {
	_Atomic uint64_t packets, emc_hits, cls_lookups, table_misses, invalid_ttl,
		meter_drops, dropped, outputs, packet_ins;
};

/* A datapath thread's own state; its counters only it writes. */
struct tsof_pl_thread {
	struct tsof_pipeline *pl;
	struct tsof_rcu_reader *rcu;
	void *ctx;
	bool use_emc;
	int slot;                   /* in pl->threads */
	struct tsof_emc *emc;
	uint8_t *scratch;           /* TSOF_GROUP_MAX_DEPTH buffers */
	struct pl_counters c;
	_Atomic uint64_t lookups[TSOF_N_TABLES], matched[TSOF_N_TABLES];
};

struct tsof_pipeline {
	struct tsof_rcu *rcu;
	pthread_mutex_t lock;
	_Atomic uint64_t version;   /* published */
	uint64_t pending;           /* what changes are tagged with: version + 1 */
	int batch;                  /* open begin()s */
	bool dirty;                 /* something waits for publish() */
	struct tsof_pipeline_ops ops;
	_Atomic uint32_t config;    /* frag flags << 16 | miss_send_len */
	unsigned max_flows;
	struct tsof_wheel timeouts; /* of the flows with an idle or hard timeout */
	struct pl_ports *_Atomic ports;
	struct tsof_mac_table *macs;  /* OFPP_NORMAL's; the datapath writes it too */
	struct tsof_idmap groups, meters;
	struct tsof_flow *removed;  /* to unlink once pending is out */
	unsigned reports_pending;   /* removed flows with report set, not reported yet */
	struct tsof_vnode **trims;  /* superseded values to trim then */
	unsigned n_trims, cap_trims;
	/* Deleted groups and meters, whose table reference goes then; linked
	 * through node.next (they are out of their id maps). */
	struct tsof_idnode *dead_groups, *dead_meters;
	/* While a bundle commits (mod_apply.c): what each change did, to undo
	 * them all if one of its mods fails. */
	bool in_bundle;
	struct pl_undo *undo;
	size_t n_undo, cap_undo;
	struct tsof_pl_thread *threads[PL_MAX_THREADS];
	struct pl_table tables[TSOF_N_TABLES];
};

/* A counter with one writer, read relaxed. */
static inline uint64_t pl_read(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Time from then to now; 0 if the caller's clock is behind. */
static inline uint64_t pl_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static inline struct tsof_insts *pl_insts_of(const struct tsof_vnode *v)
{
	return TSOF_CONTAINER_OF(v, struct tsof_insts, v);
}

/* The instructions a writer sees: the newest. */
static inline struct tsof_insts *pl_flow_insts(const struct tsof_flow *f)
{
	return pl_insts_of(atomic_load_explicit(&f->insts, memory_order_relaxed));
}

/* The configuration a writer sees: the newest. */
static inline const struct tsof_group_cfg *pl_group_cfg(const struct tsof_group *g)
{
	return TSOF_CONTAINER_OF(atomic_load_explicit(&g->cfg, memory_order_relaxed), const struct tsof_group_cfg, v);
}

static inline const struct pl_port *pl_port_find(const struct pl_ports *v, uint32_t port_no)
{
	uint32_t lo = 0, hi = v->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v->p[mid].port_no < port_no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n && v->p[lo].port_no == port_no ? &v->p[lo] : NULL;
}

/* ---- pipeline.c ---- */

void pl_lock(struct tsof_pipeline *pl);
/* Ends a control call: outside a batch, its changes go out now. */
void pl_unlock(struct tsof_pipeline *pl);
/* Pushes v, tagged with the pending version, in front of *head. */
void pl_vpush(struct tsof_pipeline *pl, struct tsof_vnode *_Atomic *head, struct tsof_vnode *v);
/* Undoes the latest pl_vpush() on *head, which was the latest push of all
 * (undo goes in reverse order): the value is freed after a grace period. */
void pl_vpop(struct tsof_pipeline *pl, struct tsof_vnode *_Atomic *head);
/* Frees a flow no thread can reach (never inserted, or unlinked a grace
 * period ago). */
void pl_flow_free(struct tsof_flow *f);

/* ---- mod_decode.c ---- */

/* Drops the references the instructions hold, if resolved. */
void pl_insts_free(struct tsof_insts *in);
/* A copy of resolved instructions, with references of its own (each flow
 * chains its own). NULL when out of memory. */
struct tsof_insts *pl_insts_copy(const struct tsof_insts *in);

/* ---- mod_apply.c ---- */

/* What a modify, delete or flow stats request selects (6.4): the cookie
 * under its mask, then identical match and priority (strict) or a match
 * within the request's, and an output to out_port and a group action to
 * out_group (OFPP_ANY, OFPG_ANY: any; a modify gives those). */
struct pl_flow_sel {
	const struct tsof_match *match;
	uint64_t cookie, cookie_mask;
	uint16_t priority;
	bool strict;
	uint32_t out_port, out_group;
};
bool pl_flow_selected(const struct tsof_flow *f, const struct pl_flow_sel *s);

#endif
