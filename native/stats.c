/*
 * stats.c: what the statistics calls report (OpenFlow 1.3.5 A.3.5): flows
 * (the selection of a flow stats request, decoded here, as for a delete), tables, groups
 * with their buckets, meters with their bands, and each datapath thread's
 * counters.
 *
 * Counters are read relaxed while datapath threads count on: each is exact,
 * a set of them is not a snapshot. Replies carry the wire bytes a flow, group
 * or meter was set with. The calls on tables, groups and meters take the
 * writer's lock, so those hold still while they are walked.
 */
#include "pipeline_impl.h"

#include <string.h>

#define FLOW_STATS_REQ_FIXED 48  /* multipart header and ofp_flow_stats_request before its match */

int tsof_flow_stats_request_decode(const uint8_t *msg, size_t len, struct tsof_flow_filter *f)
{
	const uint8_t *q = msg + 16;

	if (len < FLOW_STATS_REQ_FIXED || tsof_rd16(msg + 2) != len)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_LEN);
	*f = (struct tsof_flow_filter){
		.table_id = q[0], .out_port = tsof_rd32(q + 4), .out_group = tsof_rd32(q + 8),
		.cookie = tsof_rd64(q + 16), .cookie_mask = tsof_rd64(q + 24),
		.match = msg + FLOW_STATS_REQ_FIXED, .match_len = len - FLOW_STATS_REQ_FIXED,
	};
	return 0;
}

int tsof_pipeline_flow_stats(struct tsof_pipeline *pl, const struct tsof_flow_filter *flt, uint64_t now,
			     void (*cb)(void *arg, const struct tsof_flow_stats *fs), void *arg)
{
	struct tsof_match m;
	size_t used;
	int err = tsof_match_from_wire(flt->match, flt->match_len, &used, &m);

	if (err)
		return err;
	/* A request, not a mod: OFPBRC_BAD_TABLE_ID, as Open vSwitch answers too. */
	if (flt->table_id >= TSOF_N_TABLES && flt->table_id != TSOF_OFPTT_ALL)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_TABLE_ID);
	const struct pl_flow_sel sel = {
		.match = &m, .cookie = flt->cookie, .cookie_mask = flt->cookie_mask,
		.out_port = flt->out_port, .out_group = flt->out_group,
	};
	int first = flt->table_id == TSOF_OFPTT_ALL ? 0 : flt->table_id;
	int last = flt->table_id == TSOF_OFPTT_ALL ? TSOF_N_TABLES - 1 : flt->table_id;
	pl_lock(pl);
	for (int i = first; i <= last; i++)
		for (struct tsof_flow *f = pl->tables[i].head; f; f = f->next) {
			if (!pl_flow_selected(f, &sel))
				continue;
			const struct tsof_insts *in = pl_flow_insts(f);
			struct tsof_flow_stats fs = {
				.table_id = f->table_id, .priority = f->priority, .idle_timeout = f->idle_timeout,
				.hard_timeout = f->hard_timeout, .flags = f->flags, .cookie = f->cookie,
				.packets = pl_read(&f->n_packets), .bytes = pl_read(&f->n_bytes),
				.duration_ns = pl_since(now, f->created), .match = f->match_wire,
				.match_len = f->match_len, .insts = in->wire, .insts_len = in->wire_len,
			};
			cb(arg, &fs);
		}
	pl_unlock(pl);
	return 0;
}

void tsof_pipeline_table_stats(struct tsof_pipeline *pl, uint8_t table_id, struct tsof_table_stats *ts)
{
	memset(ts, 0, sizeof *ts);
	if (table_id >= TSOF_N_TABLES)
		return;
	pl_lock(pl);
	struct pl_table *t = &pl->tables[table_id];
	ts->active = t->n_flows;
	ts->lookups = t->lookups;
	ts->matched = t->matched;
	for (int i = 0; i < PL_MAX_THREADS; i++)
		if (pl->threads[i]) {
			ts->lookups += pl_read(&pl->threads[i]->lookups[table_id]);
			ts->matched += pl_read(&pl->threads[i]->matched[table_id]);
		}
	pl_unlock(pl);
}

static void group_report(struct tsof_group *g, uint64_t now,
			 void (*cb)(void *arg, const struct tsof_group_stats *gs), void *arg)
{
	const struct tsof_group_cfg *cfg = pl_group_cfg(g);
	uint64_t bp[cfg->n_buckets ? cfg->n_buckets : 1], bb[cfg->n_buckets ? cfg->n_buckets : 1];

	for (uint32_t i = 0; i < cfg->n_buckets; i++) {
		bp[i] = pl_read(&cfg->b[i].n_packets);
		bb[i] = pl_read(&cfg->b[i].n_bytes);
	}
	struct tsof_group_stats gs = {
		.group_id = g->node.id, .ref_count = g->n_flows, .n_buckets = cfg->n_buckets,
		.type = cfg->type, .packets = pl_read(&g->n_packets), .bytes = pl_read(&g->n_bytes),
		.duration_ns = pl_since(now, g->created), .bucket_packets = bp, .bucket_bytes = bb,
		.buckets = cfg->wire, .buckets_len = cfg->wire_len,
	};
	cb(arg, &gs);
}

unsigned tsof_pipeline_group_stats(struct tsof_pipeline *pl, uint32_t group_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_group_stats *gs), void *arg)
{
	unsigned n = 0;

	pl_lock(pl);
	for (uint32_t i = 0; i < pl->groups.n_buckets; i++)
		for (struct tsof_idnode *node = pl->groups.buckets[i]; node; node = node->next)
			if (group_id == TSOF_OFPG_ALL || node->id == group_id) {
				group_report(TSOF_CONTAINER_OF(node, struct tsof_group, node), now, cb, arg);
				n++;
			}
	pl_unlock(pl);
	return n;
}

unsigned tsof_pipeline_meter_stats(struct tsof_pipeline *pl, uint32_t meter_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_meter_stats_reply *ms), void *arg)
{
	unsigned n = 0;

	pl_lock(pl);
	for (uint32_t i = 0; i < pl->meters.n_buckets; i++)
		for (struct tsof_idnode *node = pl->meters.buckets[i]; node; node = node->next) {
			if (meter_id != TSOF_OFPM_ALL && node->id != meter_id)
				continue;
			struct tsof_meter *m = TSOF_CONTAINER_OF(node, struct tsof_meter, node);
			const struct tsof_meter_cfg *cfg = TSOF_CONTAINER_OF(
				atomic_load_explicit(&m->cfg, memory_order_relaxed), const struct tsof_meter_cfg, v);
			struct tsof_meter_stats s;
			tsof_meter_get_stats(m, &s);
			struct tsof_meter_stats_reply ms = {
				.meter_id = node->id, .flow_count = m->n_flows, .n_bands = s.n_bands,
				.flags = cfg->flags, .packets = s.n_packets, .bytes = s.n_bytes,
				.duration_ns = pl_since(now, m->created), .band_packets = s.band_packets,
				.band_bytes = s.band_bytes, .bands = cfg->wire, .bands_len = cfg->wire_len,
			};
			cb(arg, &ms);
			n++;
		}
	pl_unlock(pl);
	return n;
}

void tsof_pipeline_thread_stats(const struct tsof_pl_thread *t, struct tsof_pl_thread_stats *s)
{
	s->packets = pl_read(&t->c.packets);
	s->emc_hits = pl_read(&t->c.emc_hits);
	s->cls_lookups = pl_read(&t->c.cls_lookups);
	s->table_misses = pl_read(&t->c.table_misses);
	s->invalid_ttl = pl_read(&t->c.invalid_ttl);
	s->meter_drops = pl_read(&t->c.meter_drops);
	s->dropped = pl_read(&t->c.dropped);
	s->outputs = pl_read(&t->c.outputs);
	s->packet_ins = pl_read(&t->c.packet_ins);
}
