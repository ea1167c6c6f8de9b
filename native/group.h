/*
 * group.h: groups (OpenFlow 1.3.5 5.6, A.3.4.2).
 *
 * A group keeps its identity, counters and references for its whole life; its
 * type and buckets form a configuration that a modify replaces whole. The
 * configurations are versioned like classifier rules: each records the
 * version from which it applies and points to the one before, so a packet
 * processed at version v uses the newest configuration with version <= v and
 * a group-mod takes effect for whole packets only. Older configurations are
 * trimmed one grace period after the version that superseded them is
 * published (pipeline.c). Configurations are decoded from the wire in
 * mod_decode.c, naming groups by id; mod_apply.c resolves the ids.
 *
 * References: the group table holds one, and so does every action or bucket
 * that names the group (taken when its mod is applied, dropped when it is
 * freed, which for anything a datapath thread can reach is after a grace
 * period). A group is freed when the last one goes, so a reader never sees it
 * freed.
 *
 * Bucket choice: indirect takes its one bucket; all, every bucket; select one
 * live bucket with probability proportional to its weight, by a hash of the
 * flow's addresses and ports (so a flow's packets stay on one bucket while
 * the live set is unchanged); fast failover the first live bucket. A bucket is
 * live if it watches nothing, or its watched port is live, or its watched
 * group is (as Open vSwitch does); a group is live when one of its buckets is.
 */
#ifndef TSOF_GROUP_H
#define TSOF_GROUP_H

#include "actions.h"
#include "idmap.h"
#include "rcu.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of groups (chains, watch_group) a packet or a liveness check
 * follows; a longer chain is refused at group-mod time. */
#define TSOF_GROUP_MAX_DEPTH 8

struct tsof_bucket {
	uint16_t weight;
	uint32_t watch_port;
	uint32_t watch_group;
	struct tsof_group *watch;       /* watch_group once resolved, with a reference */
	struct tsof_actions *actions;   /* an action set (5.6.1) */
	_Atomic uint64_t n_packets, n_bytes;
};

struct tsof_group_cfg {
	struct tsof_vnode v;                    /* version, and the configuration before */
	uint8_t type;                           /* OFPGT_* */
	uint32_t n_buckets;
	uint8_t *wire;                          /* the ofp_bucket list, for desc replies */
	uint32_t wire_len;
	struct tsof_bucket b[];
};

struct tsof_group {
	struct tsof_idnode node;                /* node.id: the group id; in the table */
	struct tsof_rcu_cb rcu;                 /* the table's reference, dropped late */
	struct tsof_vnode *_Atomic cfg;         /* the newest struct tsof_group_cfg */
	_Atomic uint64_t n_packets, n_bytes;
	_Atomic unsigned refs;
	uint64_t created;                       /* ns, for duration */
	unsigned n_flows;                       /* flows naming it: ref_count in stats */
};

/* The group with this id in a table of groups (struct tsof_idmap), or NULL. */
struct tsof_group *tsof_group_find(const struct tsof_idmap *groups, uint32_t id);

struct tsof_group *tsof_group_new(uint32_t id, uint64_t now);
void tsof_group_ref(struct tsof_group *g);
void tsof_group_unref(struct tsof_group *g);

/* Drops the references its buckets hold, if resolved. */
void tsof_group_cfg_free(struct tsof_group_cfg *cfg);
/* Would cfg, installed as group id, make a chain reach id again, or one
 * longer than TSOF_GROUP_MAX_DEPTH? */
bool tsof_group_cfg_loops(uint32_t id, const struct tsof_group_cfg *cfg);
/* Some bucket names group id (as an action or a watch). */
bool tsof_group_cfg_refers(const struct tsof_group_cfg *cfg, uint32_t id);

/* Reader side: the configuration in force at version. */
const struct tsof_group_cfg *tsof_group_cfg_at(const struct tsof_group *g, uint64_t version);

/* Liveness of ports comes from the caller. */
typedef bool tsof_port_live_fn(void *ctx, uint32_t port);

bool tsof_bucket_live(const struct tsof_bucket *b, uint64_t version, tsof_port_live_fn *live,
		      void *ctx, int depth);
bool tsof_group_live(const struct tsof_group *g, uint64_t version, tsof_port_live_fn *live,
		     void *ctx, int depth);
/* The bucket a select (hash) or fast-failover group takes, or NULL. */
const struct tsof_bucket *tsof_group_select(const struct tsof_group_cfg *cfg, uint64_t hash,
					    uint64_t version, tsof_port_live_fn *live, void *ctx);
const struct tsof_bucket *tsof_group_first_live(const struct tsof_group_cfg *cfg, uint64_t version,
						tsof_port_live_fn *live, void *ctx, int depth);

/* The hash select groups use: addresses, protocol and ports of the key. */
uint64_t tsof_group_flow_hash(const struct tsof_flow_key *k);

#endif
