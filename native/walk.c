/*
 * walk.c: the datapath side: a thread's state, and a frame's walk through the
 * pipeline. No lock, no allocation, no I/O.
 *
 * A frame is extracted once and runs at the version the thread read when it
 * started (acquire), so every table, group and meter it meets is as that
 * version has it. Each table is looked up in the thread's exact-match cache
 * and, on a miss, in the table's classifier. The instructions run in the
 * order 5.9 gives (meter, apply-actions, clear-actions, write-actions,
 * write-metadata, goto-table); without a goto the action set runs. Group
 * buckets and OFPP_TABLE run on a copy of the frame in a per-thread scratch
 * buffer, one per nesting level. Counters are the thread's own (one writer).
 *
 * A trace (tsof_pipeline_trace) walks a frame the same way on the control
 * side, under the writer's lock, and changes nothing: where a real frame
 * counts in a flow, group or meter, learns an address or leaves, it records
 * an event (trace.h) instead. Its thread is a private one that no statistics
 * read, without an exact-match cache. A real frame's context has no trace,
 * and each test of that is a branch predicted not taken.
 */
#include "pipeline_impl.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FRAME (65536 + 64)  /* a GSO frame: 64 KiB of IP, its link header and tags */
#define SCRATCH_SIZE (TSOF_PL_HEADROOM + MAX_FRAME + TSOF_PL_HEADROOM)
#define ALL_ONES UINT64_MAX
#define TRACING(c) __builtin_expect((c)->tr != NULL, 0)

/* A counter only its own thread writes: no locked instruction needed. */
static inline void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

/* ---- datapath threads ---- */

struct tsof_pl_thread *tsof_pipeline_thread_new(struct tsof_pipeline *pl, void *ctx)
{
	struct tsof_pl_thread *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->pl = pl;
	t->ctx = ctx;
	t->use_emc = true;
	t->emc = calloc(1, sizeof *t->emc);
	t->scratch = malloc((size_t)TSOF_GROUP_MAX_DEPTH * SCRATCH_SIZE);
	pl_lock(pl);
	t->slot = -1;
	for (int i = 0; i < PL_MAX_THREADS && t->slot < 0; i++)
		if (!pl->threads[i])
			t->slot = i;
	if (t->slot >= 0 && t->emc && t->scratch && (t->rcu = tsof_rcu_register(pl->rcu)))
		pl->threads[t->slot] = t;
	pthread_mutex_unlock(&pl->lock);
	if (!t->rcu) {
		free(t->emc);
		free(t->scratch);
		free(t);
		return NULL;
	}
	return t;
}

void tsof_pipeline_thread_free(struct tsof_pl_thread *t)
{
	if (!t)
		return;
	struct tsof_pipeline *pl = t->pl;
	pl_lock(pl);
	for (int i = 0; i < TSOF_N_TABLES; i++) {
		pl->tables[i].lookups += pl_read(&t->lookups[i]);
		pl->tables[i].matched += pl_read(&t->matched[i]);
	}
	pl->threads[t->slot] = NULL;
	tsof_rcu_unregister(t->rcu);
	pthread_mutex_unlock(&pl->lock);
	free(t->emc);
	free(t->scratch);
	free(t);
}

void tsof_pipeline_thread_use_emc(struct tsof_pl_thread *t, bool on)
{
	t->use_emc = on;
}

void tsof_pipeline_quiesce(struct tsof_pl_thread *t)
{
	tsof_rcu_quiesce(t->rcu);
}

void tsof_pipeline_offline(struct tsof_pl_thread *t)
{
	tsof_rcu_offline(t->rcu);
}

void tsof_pipeline_online(struct tsof_pl_thread *t)
{
	tsof_rcu_online(t->rcu);
}

/* ---- running a frame ---- */

/* One frame's walk: the frame and key, the action set, and where it is. */
struct xctx {
	struct tsof_pl_thread *t;
	struct tsof_pipeline *pl;
	uint64_t version, now;
	struct tsof_xframe x;
	const struct pl_ports *ports;
	uint32_t queue_id;
	uint8_t table_id;
	bool table_miss;     /* in a table-miss flow: controller output says NO_MATCH */
	bool stop;           /* dropped: invalid TTL, no room */
	int depth;           /* copies made for groups and OFPP_TABLE */
	uint64_t cookie;     /* for packet-ins: the flow's in apply-actions, else all-ones */
	uint64_t as_slots;
	const struct tsof_action *as[TSOF_AS_N];
	struct tsof_trace *tr;  /* NULL but in a trace */
};

static void run_tables(struct xctx *c, uint8_t table_id);
static void exec_list(struct xctx *c, const struct tsof_actions *acts);

/* ---- a trace's records (trace.h) ---- */

/* Records ev at this depth, with the frame's length now unless it has one. */
static void trace(const struct xctx *c, const struct tsof_trace_event *ev, const void *data, size_t len)
{
	struct tsof_trace_event e = *ev;

	e.depth = (uint16_t)c->depth;
	if (!e.len)
		e.len = c->x.pkt->len;
	tsof_trace_add(c->tr, &e, data, len);
}

static void trace_table(const struct xctx *c, uint8_t table_id, const struct tsof_flow *f)
{
	struct tsof_trace_event ev = {
		.kind = TSOF_TRACE_TABLE, .table_id = table_id, .metadata = tsof_ntoh64(c->x.key.metadata),
	};

	if (!f) {
		trace(c, &ev, NULL, 0);
		return;
	}
	ev.code = 1;
	ev.priority = f->priority;
	ev.cookie = f->cookie;
	trace(c, &ev, f->match_wire, f->match_len);
}

/* The instructions after apply-actions, in the order they take effect below. */
static void trace_insts(const struct xctx *c, const struct tsof_insts *in)
{
	if (in->clear)
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION, .code = TSOF_OFPIT_CLEAR_ACTIONS },
		      NULL, 0);
	if (in->write)
		tsof_trace_actions(c->tr, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION,
			.code = TSOF_OFPIT_WRITE_ACTIONS, .depth = (uint16_t)c->depth, .len = c->x.pkt->len }, in->write);
	if (in->write_metadata)
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION, .code = TSOF_OFPIT_WRITE_METADATA,
			.metadata = in->metadata, .mask = in->metadata_mask }, NULL, 0);
	if (in->goto_table >= 0)
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION, .code = TSOF_OFPIT_GOTO_TABLE,
			.table_id = (uint32_t)in->goto_table }, NULL, 0);
}

/* An action about to run; a set-field says whether its header is there. */
static void trace_action(struct xctx *c, const struct tsof_action *a)
{
	struct tsof_trace_event ev = { .kind = TSOF_TRACE_ACTION, .depth = (uint16_t)c->depth, .len = c->x.pkt->len };

	if (a->type == TSOF_OFPAT_SET_FIELD) {
		uint32_t layer = tsof_flow_fields[a->field].layer;
		tsof_xframe_refresh(&c->x);
		ev.code = layer && !(c->x.key.layers & layer);
	}
	tsof_trace_action(c->tr, &ev, a);
}

/* The frame, or this copy of it, goes no further: counted, and in a trace,
 * recorded with the reason (TSOF_TRACE_DROP_*). */
static void drop(struct xctx *c, _Atomic uint64_t *counter, uint32_t why, uint32_t id)
{
	count(counter, 1);
	if (TRACING(c))
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_DROP, .code = why, .id = id }, NULL, 0);
}

/* ---- outputs ---- */

static void to_controller(struct xctx *c, uint8_t reason, uint16_t max_len)
{
	const struct tsof_pl_frame *p = c->x.pkt;
	const struct pl_port *in = pl_port_find(c->ports, p->in_port);

	if (!c->pl->ops.packet_in || (in && (in->config & TSOF_OFPPC_NO_PACKET_IN))) {
		if (TRACING(c))
			trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_DROP,
				.code = TSOF_TRACE_DROP_NO_PACKET_IN, .id = p->in_port }, NULL, 0);
		return;
	}
	struct tsof_packet_in pin = {
		.reason = reason, .table_id = c->table_id, .cookie = c->cookie,
		.in_port = p->in_port, .in_phy_port = p->in_phy_port,
		.metadata = tsof_ntoh64(c->x.key.metadata), .tunnel_id = p->tunnel_id,
		.data = p->data, .len = p->len, .max_len = max_len,
	};
	if (TRACING(c))
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_PACKET_IN, .code = reason, .table_id = c->table_id,
			.cookie = c->cookie, .metadata = pin.metadata, .arg = max_len }, p->data, p->len);
	else
		c->pl->ops.packet_in(c->t->ctx, &pin);
	count(&c->t->c.packet_ins, 1);
}

static void send_out(struct xctx *c, uint32_t port)
{
	if (TRACING(c))
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_OUTPUT, .id = port, .arg = c->queue_id },
		      c->x.pkt->data, c->x.pkt->len);
	else
		c->pl->ops.output(c->t->ctx, port, c->queue_id, c->x.pkt);
	count(&c->t->c.outputs, 1);
}

/* A port sends nothing while down (by config or link) or NO_FWD; a blocked
 * one still gets what is sent to it by number and ALL, but not FLOOD or
 * NORMAL (4.5). */
static bool forwards(const struct pl_port *pi, bool blocked_ok)
{
	return !(pi->config & (TSOF_OFPPC_PORT_DOWN | TSOF_OFPPC_NO_FWD)) && !(pi->state & TSOF_OFPPS_LINK_DOWN) &&
	       (blocked_ok || !(pi->state & TSOF_OFPPS_BLOCKED));
}

static void emit(struct xctx *c, uint32_t port)
{
	const struct pl_port *pi = pl_port_find(c->ports, port);

	if (pi && forwards(pi, true))
		send_out(c, port);
	else
		drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_PORT, port);
}

/* FLOOD, ALL and NORMAL's flood: every port but the ingress one that
 * forwards. FLOOD and ALL leave out LOCAL, a reserved port (4.5); NORMAL
 * keeps it, as Open vSwitch's bridge floods to its local port. */
static void flood(struct xctx *c, uint32_t how)
{
	for (uint32_t i = 0; i < c->ports->n; i++) {
		const struct pl_port *pi = &c->ports->p[i];
		if (pi->port_no == c->x.pkt->in_port || !forwards(pi, how == TSOF_OFPP_ALL) ||
		    (pi->port_no > TSOF_OFPP_MAX && !(how == TSOF_OFPP_NORMAL && pi->port_no == TSOF_OFPP_LOCAL)))
			continue;
		send_out(c, pi->port_no);
	}
}

/* IEEE 802.1D's reserved group addresses, 01:80:c2:00:00:00 to 0f (STP,
 * pause, LACP, LLDP...): link-local, a bridge never forwards them. */
static bool reserved_multicast(const uint8_t mac[6])
{
	static const uint8_t prefix[5] = { 0x01, 0x80, 0xc2, 0x00, 0x00 };

	return !memcmp(mac, prefix, 5) && mac[5] < 0x10;
}

/* OFPP_NORMAL: an L2 learning switch (mac_learning.h), frames unchanged. The
 * source address is learned on the ingress port in the frame's VLAN; a known
 * destination in that VLAN goes to its port, or nowhere if that is the
 * ingress port; an unknown or group destination floods, the frame keeping its
 * tag. A packet-out's frame from no port is not learned. A trace learns
 * nothing, but says what a real frame would have taught. */
static void normal(struct xctx *c)
{
	uint32_t in_port = c->x.pkt->in_port;
	const struct pl_port *in = pl_port_find(c->ports, in_port);

	tsof_xframe_refresh(&c->x);
	const struct tsof_flow_key *k = &c->x.key;
	if (!(k->layers & TSOF_L_ETH) || (in && (in->state & TSOF_OFPPS_BLOCKED)) || reserved_multicast(k->eth_dst)) {
		drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_NORMAL, 0);
		return;
	}
	uint16_t vlan = tsof_ntoh16(k->vlan_vid) & 0xfff;  /* VID 0: untagged's VLAN */
	bool learn = in && !(k->eth_src[0] & 1);
	if (learn && !TRACING(c))
		tsof_mac_learn(c->pl->macs, k->eth_src, vlan, in_port, c->now);
	uint32_t port = k->eth_dst[0] & 1 ? 0 : tsof_mac_lookup(c->pl->macs, k->eth_dst, vlan, c->now);
	if (TRACING(c)) {
		if (learn && !memcmp(k->eth_dst, k->eth_src, 6))
			port = in_port;  /* what learning the source would have told */
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_NORMAL, .id = port, .code = learn }, NULL, 0);
	}
	if (!port) {
		flood(c, TSOF_OFPP_NORMAL);
		return;
	}
	const struct pl_port *out = pl_port_find(c->ports, port);
	if (port != in_port && out && forwards(out, false))
		send_out(c, port);
	else
		drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_NORMAL_PORT, port);
}

/* A copy of the frame in this level's scratch buffer, with a context of its
 * own (empty action set, key carried over). false if too deep or too big. */
static bool clone(struct xctx *c, struct xctx *sub, struct tsof_pl_frame *copy)
{
	const struct tsof_pl_frame *p = c->x.pkt;

	if (c->depth >= TSOF_GROUP_MAX_DEPTH || p->len > SCRATCH_SIZE - 2 * TSOF_PL_HEADROOM) {
		drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_TOO_DEEP, 0);
		return false;
	}
	*copy = *p;
	copy->data = c->t->scratch + (size_t)c->depth * SCRATCH_SIZE + TSOF_PL_HEADROOM;
	copy->headroom = TSOF_PL_HEADROOM;
	copy->tailroom = SCRATCH_SIZE - TSOF_PL_HEADROOM - p->len;
	memcpy(copy->data, p->data, p->len);
	sub->t = c->t;
	sub->pl = c->pl;
	sub->version = c->version;
	sub->now = c->now;
	sub->x = c->x;
	sub->x.pkt = copy;
	sub->ports = c->ports;
	sub->queue_id = c->queue_id;
	sub->table_id = c->table_id;
	sub->table_miss = c->table_miss;
	sub->stop = false;
	sub->depth = c->depth + 1;
	sub->cookie = ALL_ONES;
	sub->as_slots = 0;
	sub->tr = c->tr;
	return true;
}

static bool port_live(void *arg, uint32_t port)
{
	const struct xctx *c = arg;

	if (c->pl->ops.port_live)
		return c->pl->ops.port_live(c->t->ctx, port);
	const struct pl_port *pi = pl_port_find(c->ports, port);
	return pi && !(pi->config & TSOF_OFPPC_PORT_DOWN) && !(pi->state & TSOF_OFPPS_LINK_DOWN);
}

static void run_bucket(struct xctx *c, const struct tsof_group *g, const struct tsof_group_cfg *cfg,
		       const struct tsof_bucket *b)
{
	struct xctx sub;
	struct tsof_pl_frame copy;

	if (!TRACING(c)) {
		atomic_fetch_add_explicit((_Atomic uint64_t *)&b->n_packets, 1, memory_order_relaxed);
		atomic_fetch_add_explicit((_Atomic uint64_t *)&b->n_bytes, c->x.pkt->len, memory_order_relaxed);
	}
	if (!clone(c, &sub, &copy))
		return;
	if (TRACING(c))
		trace(&sub, &(struct tsof_trace_event){ .kind = TSOF_TRACE_BUCKET, .id = g->node.id,
			.arg = (uint32_t)(b - cfg->b) }, NULL, 0);
	exec_list(&sub, b->actions);  /* already an action set, in its order */
}

static void trace_group(const struct xctx *c, const struct tsof_group *g, const struct tsof_group_cfg *cfg,
			uint32_t bucket)
{
	trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_GROUP, .id = g->node.id, .code = cfg->type,
		.arg = bucket }, NULL, 0);
	if (bucket == TSOF_TRACE_NONE)
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_DROP, .code = TSOF_TRACE_DROP_NO_BUCKET,
			.id = g->node.id }, NULL, 0);
}

static void do_group(struct xctx *c, struct tsof_group *g)
{
	const struct tsof_group_cfg *cfg = tsof_group_cfg_at(g, c->version);
	const struct tsof_bucket *b = NULL;

	if (!TRACING(c)) {
		atomic_fetch_add_explicit(&g->n_packets, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&g->n_bytes, c->x.pkt->len, memory_order_relaxed);
	}
	switch (cfg->type) {
	case TSOF_OFPGT_ALL:
		if (TRACING(c))
			trace_group(c, g, cfg, cfg->n_buckets);
		for (uint32_t i = 0; i < cfg->n_buckets; i++)
			run_bucket(c, g, cfg, &cfg->b[i]);
		return;
	case TSOF_OFPGT_SELECT:
		tsof_xframe_refresh(&c->x);
		b = tsof_group_select(cfg, tsof_group_flow_hash(&c->x.key), c->version, port_live, c);
		break;
	case TSOF_OFPGT_INDIRECT:
		b = &cfg->b[0];
		break;
	default:  /* fast failover */
		b = tsof_group_first_live(cfg, c->version, port_live, c, 1);
		break;
	}
	if (TRACING(c))
		trace_group(c, g, cfg, b ? (uint32_t)(b - cfg->b) : TSOF_TRACE_NONE);
	if (b)
		run_bucket(c, g, cfg, b);
}

static void do_output(struct xctx *c, uint32_t port, uint16_t max_len)
{
	struct xctx sub;
	struct tsof_pl_frame copy;

	switch (port) {
	case TSOF_OFPP_IN_PORT:
		emit(c, c->x.pkt->in_port);
		break;
	case TSOF_OFPP_CONTROLLER:
		to_controller(c, c->table_miss ? TSOF_OFPR_NO_MATCH : TSOF_OFPR_ACTION, max_len);
		break;
	case TSOF_OFPP_FLOOD:
	case TSOF_OFPP_ALL:
		flood(c, port);
		break;
	case TSOF_OFPP_NORMAL:
		normal(c);
		break;
	case TSOF_OFPP_TABLE:  /* packet-out only: a copy through the tables */
		if (clone(c, &sub, &copy)) {
			tsof_xframe_init(&sub.x, &copy);
			run_tables(&sub, 0);
		}
		break;
	default:
		/* Back out of the ingress port only through OFPP_IN_PORT (4.5). */
		if (port == c->x.pkt->in_port)
			drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_IN_PORT, port);
		else
			emit(c, port);
		break;
	}
}

static void exec_action(struct xctx *c, const struct tsof_action *a)
{
	if (TRACING(c))
		trace_action(c, a);
	switch (a->type) {
	case TSOF_OFPAT_OUTPUT:
		do_output(c, a->u.output.port, a->u.output.max_len);
		return;
	case TSOF_OFPAT_SET_QUEUE:
		c->queue_id = a->u.queue_id;
		return;
	case TSOF_OFPAT_GROUP:
		do_group(c, a->u.group.ptr);
		return;
	default:
		switch (tsof_act_execute(&c->x, a)) {
		case TSOF_ACT_INVALID_TTL:
			/* The frame goes no further (5.12); the controller may
			 * ask for it (OFPR_INVALID_TTL in its async config). */
			to_controller(c, TSOF_OFPR_INVALID_TTL,
				      (uint16_t)(atomic_load_explicit(&c->pl->config, memory_order_relaxed) & 0xffff));
			drop(c, &c->t->c.invalid_ttl, TSOF_TRACE_DROP_INVALID_TTL, 0);
			c->stop = true;
			return;
		case TSOF_ACT_NO_ROOM:
			drop(c, &c->t->c.dropped, TSOF_TRACE_DROP_NO_ROOM, 0);
			c->stop = true;
			return;
		default:
			return;
		}
	}
}

/* A list in order; an action set's list also drops its output when it has a
 * group (5.10: the group takes precedence). */
static void exec_list(struct xctx *c, const struct tsof_actions *acts)
{
	bool has_group = acts->slots >> TSOF_AS_GROUP & 1;

	for (uint32_t i = 0; i < acts->n && !c->stop; i++)
		if (!(has_group && acts->a[i].slot == TSOF_AS_OUTPUT))
			exec_action(c, &acts->a[i]);
}

static void exec_action_set(struct xctx *c)
{
	uint64_t s = c->as_slots;

	if (s >> TSOF_AS_GROUP & 1)
		s &= ~(1ull << TSOF_AS_OUTPUT);
	c->cookie = ALL_ONES;
	if (TRACING(c))
		trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_ACTION_SET }, NULL, 0);
	while (s && !c->stop) {
		int slot = __builtin_ctzll(s);
		s &= s - 1;
		exec_action(c, c->as[slot]);
	}
}

/* A trace's look at the meter: what it would do to the frame, its buckets
 * left as they are. */
static bool trace_meter(const struct xctx *c, struct tsof_meter *m, struct tsof_band *band)
{
	bool hit = tsof_meter_peek(m, c->version, c->now, c->x.pkt->len, band);

	trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION, .code = TSOF_OFPIT_METER, .id = m->node.id,
		.band = hit ? band->type : 0, .arg = hit ? band->rate : 0 }, NULL, 0);
	return hit;
}

/* The frame is metered; false if a drop band took it. */
static bool meter(struct xctx *c, struct tsof_meter *m)
{
	struct tsof_band band;

	if (!(TRACING(c) ? trace_meter(c, m, &band) : tsof_meter_apply(m, c->version, c->now, c->x.pkt->len, &band)))
		return true;
	if (band.type == TSOF_OFPMBT_DROP) {
		drop(c, &c->t->c.meter_drops, TSOF_TRACE_DROP_METER, m->node.id);
		return false;
	}
	tsof_xframe_refresh(&c->x);
	if (c->x.key.layers & TSOF_L_IP) {
		uint8_t dscp = tsof_dscp_remark(c->x.key.ip_dscp, band.prec_level);
		if (dscp != c->x.key.ip_dscp)
			tsof_act_set_field(&c->x, (unsigned)(tsof_field_by_oxm(TSOF_OXM_IP_DSCP) - tsof_flow_fields),
					   &dscp);
	}
	return true;
}

static const struct tsof_flow *lookup(struct xctx *c, uint8_t table_id)
{
	const struct pl_table *t = &c->pl->tables[table_id];
	const struct tsof_cls_rule *r;
	struct tsof_pl_thread *th = c->t;

	if (th->use_emc) {
		/* The table is in the hash, so a frame's entries for successive tables
		 * land in different slots instead of evicting each other. */
		uint64_t hash = tsof_key_hash(&c->x.key, table_id);
		uint64_t changed = atomic_load_explicit(&t->changed, memory_order_relaxed);
		if (tsof_emc_lookup(th->emc, table_id, &c->x.key, hash, c->version, changed, &r)) {
			count(&th->c.emc_hits, 1);
		} else {
			r = tsof_cls_lookup(&t->cls, &c->x.key, c->version, NULL);
			count(&th->c.cls_lookups, 1);
			tsof_emc_insert(th->emc, table_id, &c->x.key, hash, c->version, r);
		}
	} else {
		r = tsof_cls_lookup(&t->cls, &c->x.key, c->version, NULL);
		count(&th->c.cls_lookups, 1);
	}
	return r ? TSOF_CONTAINER_OF(r, const struct tsof_flow, rule) : NULL;
}

/* A flow's counters are the datapath's to write. */
static void count_flow(const struct xctx *c, const struct tsof_flow *f)
{
	struct tsof_flow *fw = (struct tsof_flow *)f;

	if (!(f->flags & TSOF_OFPFF_NO_PKT_COUNTS))
		atomic_fetch_add_explicit(&fw->n_packets, 1, memory_order_relaxed);
	if (!(f->flags & TSOF_OFPFF_NO_BYT_COUNTS))
		atomic_fetch_add_explicit(&fw->n_bytes, c->x.pkt->len, memory_order_relaxed);
	atomic_store_explicit(&fw->used, c->now, memory_order_relaxed);
}

static void run_tables(struct xctx *c, uint8_t table_id)
{
	for (;;) {
		tsof_xframe_refresh(&c->x);
		const struct tsof_flow *f = lookup(c, table_id);
		count(&c->t->lookups[table_id], 1);
		if (!f) {
			/* No table-miss flow: drop (5.4). */
			if (TRACING(c))
				trace_table(c, table_id, NULL);
			drop(c, &c->t->c.table_misses, TSOF_TRACE_DROP_TABLE_MISS, table_id);
			return;
		}
		count(&c->t->matched[table_id], 1);
		if (TRACING(c))
			trace_table(c, table_id, f);
		else
			count_flow(c, f);

		const struct tsof_insts *in = pl_insts_of(tsof_vnode_at(
			atomic_load_explicit(&f->insts, memory_order_acquire), c->version));
		c->table_id = table_id;
		c->table_miss = f->table_miss;
		if (in->meter && !meter(c, in->meter))
			return;
		if (in->apply) {
			if (TRACING(c))
				trace(c, &(struct tsof_trace_event){ .kind = TSOF_TRACE_INSTRUCTION,
					.code = TSOF_OFPIT_APPLY_ACTIONS }, NULL, 0);
			c->cookie = f->cookie;
			exec_list(c, in->apply);
			if (c->stop)
				return;
		}
		if (TRACING(c))
			trace_insts(c, in);
		if (in->clear)
			c->as_slots = 0;
		if (in->write)
			for (uint32_t i = 0; i < in->write->n; i++) {
				c->as[in->write->a[i].slot] = &in->write->a[i];
				c->as_slots |= 1ull << in->write->a[i].slot;
			}
		if (in->write_metadata) {
			uint64_t md = tsof_ntoh64(c->x.key.metadata);
			md = (md & ~in->metadata_mask) | (in->metadata & in->metadata_mask);
			c->x.key.metadata = tsof_hton64(md);
		}
		if (in->goto_table < 0)
			break;
		table_id = (uint8_t)in->goto_table;
	}
	exec_action_set(c);
}

/* The context of a frame arriving from outside the pipeline. */
static void start(struct tsof_pl_thread *t, struct xctx *c, struct tsof_pl_frame *pkt, uint64_t now)
{
	c->t = t;
	c->pl = t->pl;
	c->version = atomic_load_explicit(&t->pl->version, memory_order_acquire);
	c->now = now;
	c->ports = atomic_load_explicit(&t->pl->ports, memory_order_acquire);
	c->queue_id = 0;
	c->table_id = 0;
	c->table_miss = false;
	c->stop = false;
	c->depth = 0;
	c->cookie = ALL_ONES;
	c->as_slots = 0;
	c->tr = NULL;
	tsof_xframe_init(&c->x, pkt);
	count(&t->c.packets, 1);
}

/* A received frame, from table 0. */
static void receive(struct xctx *c)
{
	const struct pl_port *in = pl_port_find(c->ports, c->x.pkt->in_port);
	uint32_t frag = atomic_load_explicit(&c->pl->config, memory_order_relaxed) >> 16;
	/* A port that is PORT_DOWN is not used by OpenFlow at all (7.2.1): nothing in either. */
	bool no_recv = in && (in->config & (TSOF_OFPPC_NO_RECV | TSOF_OFPPC_PORT_DOWN));
	if (no_recv || ((c->x.key.layers & TSOF_L_FRAG) && frag == TSOF_OFPC_FRAG_DROP)) {
		drop(c, &c->t->c.dropped, no_recv ? TSOF_TRACE_DROP_NO_RECV : TSOF_TRACE_DROP_FRAGMENT,
		     c->x.pkt->in_port);
		return;
	}
	run_tables(c, 0);
}

void tsof_pipeline_process(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt, uint64_t now)
{
	struct xctx c;

	start(t, &c, pkt, now);
	receive(&c);
}

void tsof_pipeline_packet_out(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt,
			      const struct tsof_actions *acts, uint64_t now)
{
	struct xctx c;

	start(t, &c, pkt, now);
	exec_list(&c, acts);
}

/*
 * A trace runs on Node's thread (or any control thread), not a datapath
 * thread: it takes the writer's lock for its whole walk. While it holds it no
 * change is being made and no deferred free runs (tsof_pipeline_reclaim()
 * takes the lock too), so everything the published version shows stays put
 * without the trace being an RCU reader. Traces are rare and take
 * microseconds; datapath threads never wait for the lock, only other control
 * calls do. Its thread is its own: counters nobody reads, no cache, and
 * scratch buffers allocated for it (a control call may allocate).
 */
int tsof_pipeline_trace(struct tsof_pipeline *pl, const uint8_t *frame, uint32_t len, uint32_t in_port,
			uint64_t now, struct tsof_trace *tr)
{
	struct tsof_pl_thread *t = calloc(1, sizeof *t);
	uint8_t *buf = malloc(SCRATCH_SIZE);
	int r = -1;

	if (len <= MAX_FRAME && t && buf && (t->scratch = malloc((size_t)TSOF_GROUP_MAX_DEPTH * SCRATCH_SIZE))) {
		struct tsof_pl_frame pkt = {
			.data = buf + TSOF_PL_HEADROOM, .len = len, .headroom = TSOF_PL_HEADROOM,
			.tailroom = SCRATCH_SIZE - TSOF_PL_HEADROOM - len, .in_port = in_port, .in_phy_port = in_port,
		};
		struct xctx c;

		t->pl = pl;
		memcpy(pkt.data, frame, len);
		pl_lock(pl);
		start(t, &c, &pkt, now);
		c.tr = tr;
		tsof_trace_key(tr, &c.x.key, len);
		receive(&c);
		pthread_mutex_unlock(&pl->lock);  /* not pl_unlock(): nothing to publish */
		r = tr->failed ? -1 : 0;
	}
	if (t)
		free(t->scratch);
	free(t);
	free(buf);
	return r;
}
