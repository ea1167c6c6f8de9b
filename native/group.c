/*
 * group.c: groups and their configurations, loop checks, liveness and bucket
 * choice (see group.h).
 */
#include "group.h"
#include "classifier.h"
#include "ofp.h"

#include <stdlib.h>
#include <string.h>

struct tsof_group *tsof_group_find(const struct tsof_idmap *groups, uint32_t id)
{
	struct tsof_idnode *n = tsof_idmap_find(groups, id);

	return n ? TSOF_CONTAINER_OF(n, struct tsof_group, node) : NULL;
}

/* ---- groups and configurations ---- */

struct tsof_group *tsof_group_new(uint32_t id, uint64_t now)
{
	struct tsof_group *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->node.id = id;
	g->created = now;
	atomic_init(&g->refs, 1);
	return g;
}

void tsof_group_ref(struct tsof_group *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void tsof_group_cfg_free(struct tsof_group_cfg *cfg)
{
	if (!cfg)
		return;
	for (uint32_t i = 0; i < cfg->n_buckets; i++) {
		tsof_actions_free(cfg->b[i].actions);
		if (cfg->b[i].watch)
			tsof_group_unref(cfg->b[i].watch);
	}
	free(cfg->wire);
	free(cfg);
}

void tsof_group_unref(struct tsof_group *g)
{
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Nothing names g any more, and everything that did was freed after a
	 * grace period: no reader can reach g or its configurations. */
	tsof_vnode_free_chain(atomic_load_explicit(&g->cfg, memory_order_relaxed));
	free(g);
}

static bool names_reach(const struct tsof_group_cfg *cfg, uint32_t id, int depth);

static bool group_reaches(const struct tsof_group *g, uint32_t id, int depth)
{
	if (g->node.id == id || depth >= TSOF_GROUP_MAX_DEPTH)
		return true;
	return names_reach(TSOF_CONTAINER_OF(atomic_load_explicit(&g->cfg, memory_order_relaxed),
					     struct tsof_group_cfg, v), id, depth + 1);
}

/* Some group the configuration names, by action or by watch, is id or leads
 * there, or the chain is too long. */
static bool names_reach(const struct tsof_group_cfg *cfg, uint32_t id, int depth)
{
	for (uint32_t i = 0; cfg && i < cfg->n_buckets; i++) {
		const struct tsof_bucket *b = &cfg->b[i];
		if (b->watch && group_reaches(b->watch, id, depth))
			return true;
		for (uint32_t j = 0; j < b->actions->n; j++)
			if (b->actions->a[j].type == TSOF_OFPAT_GROUP &&
			    group_reaches(b->actions->a[j].u.group.ptr, id, depth))
				return true;
	}
	return false;
}

bool tsof_group_cfg_loops(uint32_t id, const struct tsof_group_cfg *cfg)
{
	return names_reach(cfg, id, 1);
}

bool tsof_group_cfg_refers(const struct tsof_group_cfg *cfg, uint32_t id)
{
	for (uint32_t i = 0; i < cfg->n_buckets; i++)
		if ((cfg->b[i].watch && cfg->b[i].watch->node.id == id) ||
		    (id != TSOF_OFPG_ANY && tsof_actions_group_to(cfg->b[i].actions, id)))
			return true;
	return false;
}

/* ---- reader side ---- */

const struct tsof_group_cfg *tsof_group_cfg_at(const struct tsof_group *g, uint64_t version)
{
	const struct tsof_vnode *n = atomic_load_explicit(&g->cfg, memory_order_acquire);

	return TSOF_CONTAINER_OF(tsof_vnode_at(n, version), const struct tsof_group_cfg, v);
}

bool tsof_bucket_live(const struct tsof_bucket *b, uint64_t version, tsof_port_live_fn *live,
		      void *ctx, int depth)
{
	if (b->watch_port == TSOF_OFPP_ANY && b->watch_group == TSOF_OFPG_ANY)
		return true;
	if (b->watch_port != TSOF_OFPP_ANY && live && live(ctx, b->watch_port))
		return true;
	return b->watch && tsof_group_live(b->watch, version, live, ctx, depth + 1);
}

const struct tsof_bucket *tsof_group_first_live(const struct tsof_group_cfg *cfg, uint64_t version,
						tsof_port_live_fn *live, void *ctx, int depth)
{
	if (depth > TSOF_GROUP_MAX_DEPTH)
		return NULL;
	for (uint32_t i = 0; i < cfg->n_buckets; i++)
		if (tsof_bucket_live(&cfg->b[i], version, live, ctx, depth))
			return &cfg->b[i];
	return NULL;
}

bool tsof_group_live(const struct tsof_group *g, uint64_t version, tsof_port_live_fn *live,
		     void *ctx, int depth)
{
	return tsof_group_first_live(tsof_group_cfg_at(g, version), version, live, ctx, depth) != NULL;
}

/* Weighted choice: a point in [0, total live weight) picks the bucket whose
 * share holds it, so each gets a share of flows proportional to its weight.
 * (Liveness is asked twice; if it changes in between, the packet may find no
 * bucket and is dropped, as with no live bucket.) */
const struct tsof_bucket *tsof_group_select(const struct tsof_group_cfg *cfg, uint64_t hash,
					    uint64_t version, tsof_port_live_fn *live, void *ctx)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < cfg->n_buckets; i++)
		if (cfg->b[i].weight && tsof_bucket_live(&cfg->b[i], version, live, ctx, 1))
			total += cfg->b[i].weight;
	if (!total)
		return NULL;
	uint64_t point = hash % total;
	for (uint32_t i = 0; i < cfg->n_buckets; i++) {
		if (!cfg->b[i].weight || !tsof_bucket_live(&cfg->b[i], version, live, ctx, 1))
			continue;
		if (point < cfg->b[i].weight)
			return &cfg->b[i];
		point -= cfg->b[i].weight;
	}
	return NULL;
}

uint64_t tsof_group_flow_hash(const struct tsof_flow_key *k)
{
	/* Addresses, protocol and ports: what tells flows apart (ARP's
	 * addresses too, as IPv4's are for IP). */
	static const struct tsof_flow_key mask = {
		.eth_type = 0xffff, .vlan_vid = 0xffff,
		.eth_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.eth_src = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.ip_proto = 0xff, .ipv4_src = 0xffffffff, .ipv4_dst = 0xffffffff,
		.arp_spa = 0xffffffff, .arp_tpa = 0xffffffff,
		.ipv6_src = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.ipv6_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.tcp_src = 0xffff, .tcp_dst = 0xffff, .udp_src = 0xffff, .udp_dst = 0xffff,
		.sctp_src = 0xffff, .sctp_dst = 0xffff,
	};
	uint64_t w[TSOF_KEY_WORDS];

	for (int i = 0; i < TSOF_KEY_WORDS; i++)
		w[i] = tsof_key_word(k, i) & tsof_key_word(&mask, i);
	struct tsof_flow_key masked;
	memcpy(&masked, w, sizeof masked);
	return tsof_key_hash(&masked, 0x5e1ec7);
}
