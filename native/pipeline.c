/*
 * pipeline.c: flow tables, instructions and the packet walk through them
 * (see pipeline.h for the two sides and the atomicity they get).
 *
 * Writer side. Every change is tagged with pl->pending, the version after the
 * published one: new rules get it as add_version, removed ones as
 * remove_version, new instructions and group or meter configurations as their
 * vnode version. publish() then makes it the version (one release store).
 * Deferred work follows: removed rules are unlinked from the classifier one
 * grace period after that (no thread can use an older version by then) and
 * freed one grace period later; superseded values are trimmed one grace
 * period after. The rcu queue runs in tag order, so a trim always runs before
 * the free of the flow or group it belongs to.
 *
 * Datapath side. A frame is extracted once, then each table is looked up in
 * the thread's exact-match cache and on a miss in the table's classifier. The
 * instructions run in the order 5.9 gives (meter, apply-actions,
 * clear-actions, write-actions, write-metadata, goto-table); without a goto
 * the action set runs. Group buckets and OFPP_TABLE run on a copy of the
 * frame in a per-thread scratch buffer, one per nesting level.
 */
#include "pipeline.h"
#include "classifier.h"
#include "group.h"
#include "idmap.h"
#include "mac_learning.h"
#include "meter.h"
#include "rcu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS TSOF_RCU_MAX_READERS
#define MAX_FRAME (65536 + 64)  /* a GSO frame: 64 KiB of IP, its link header and tags */
#define SCRATCH_SIZE (TSOF_PL_HEADROOM + MAX_FRAME + TSOF_PL_HEADROOM)
#define NS_PER_SEC 1000000000ull
#define ALL_ONES UINT64_MAX

#define BAD_INST(code) TSOF_ERR(TSOF_OFPET_BAD_INSTRUCTION, TSOF_OFPBIC_##code)
#define FLOW_ERR(code) TSOF_ERR(TSOF_OFPET_FLOW_MOD_FAILED, TSOF_OFPFMFC_##code)
#define GROUP_ERR(code) TSOF_ERR(TSOF_OFPET_GROUP_MOD_FAILED, TSOF_OFPGMFC_##code)
#define METER_ERR(code) TSOF_ERR(TSOF_OFPET_METER_MOD_FAILED, TSOF_OFPMMFC_##code)
#define BAD_LEN TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_LEN)

/* A flow's instructions: a versioned value (rcu.h). */
struct tsof_insts {
	struct tsof_vnode v;
	struct tsof_meter *meter;           /* with a reference */
	struct tsof_actions *apply, *write; /* write: an action set */
	uint64_t metadata, metadata_mask;
	int16_t goto_table;                 /* -1: none */
	bool clear, write_metadata;
	uint8_t *wire;                      /* as received, for stats replies */
	uint32_t wire_len;
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
	uint8_t *match_wire;
	uint32_t match_len;
};

struct table {
	struct tsof_cls cls;
	_Atomic uint64_t changed;   /* the version of its latest change, for the EMC */
	struct tsof_flow *head, *tail;
	unsigned n_flows;
	bool touched;               /* changed at the pending version */
	uint64_t lookups, matched;  /* of threads that are gone */
};

struct port_info {
	uint32_t port_no, config, state;
};

struct port_vec {
	struct tsof_rcu_cb rcu;
	uint32_t n;
	struct port_info p[];       /* by port number */
};

struct thread_counters {
	_Atomic uint64_t packets, emc_hits, cls_lookups, table_misses, invalid_ttl,
		meter_drops, dropped, outputs, packet_ins;
};

struct tsof_pl_thread {
	struct tsof_pipeline *pl;
	struct tsof_rcu_reader *rcu;
	void *ctx;
	bool use_emc;
	int slot;                   /* in pl->threads */
	struct tsof_emc *emc;
	uint8_t *scratch;           /* TSOF_GROUP_MAX_DEPTH buffers */
	struct thread_counters c;
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
	struct port_vec *_Atomic ports;
	struct tsof_mac_table *macs;  /* OFPP_NORMAL's; the datapath writes it too */
	struct tsof_idmap groups, meters;
	struct tsof_flow *removed;  /* to unlink once pending is out */
	struct tsof_vnode **trims;  /* superseded values to trim then */
	unsigned n_trims, cap_trims;
	/* Deleted groups and meters, whose table reference goes then; linked
	 * through node.next (they are out of their id maps). */
	struct tsof_idnode *dead_groups, *dead_meters;
	struct tsof_pl_thread *threads[MAX_THREADS];
	struct table tables[TSOF_N_TABLES];
};

/* A counter only its own thread writes: no locked instruction needed. */
static inline void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Time from then to now; 0 if the caller's clock is behind. */
static inline uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static struct tsof_insts *insts_of(const struct tsof_vnode *v)
{
	return TSOF_CONTAINER_OF(v, struct tsof_insts, v);
}

/* The instructions a writer sees: the newest. */
static struct tsof_insts *flow_insts(const struct tsof_flow *f)
{
	return insts_of(atomic_load_explicit(&f->insts, memory_order_relaxed));
}

/* ---- freeing ---- */

static void insts_free(struct tsof_insts *in)
{
	if (!in)
		return;
	tsof_actions_free(in->apply);
	tsof_actions_free(in->write);
	if (in->meter)
		tsof_meter_unref(in->meter);
	free(in->wire);
	free(in);
}

static void insts_free_vnode(struct tsof_vnode *v)
{
	insts_free(insts_of(v));
}

static void flow_free(struct tsof_flow *f)
{
	tsof_vnode_free_chain(atomic_load_explicit(&f->insts, memory_order_relaxed));
	free(f->match_wire);
	free(f);
}

static void flow_free_cb(struct tsof_rcu_cb *cb)
{
	flow_free(TSOF_CONTAINER_OF(cb, struct tsof_flow, rcu));
}

/* No thread uses a version at which f is visible any more: take it out of
 * the classifier, and free it once nobody can be standing on it. */
static void flow_unlink_cb(struct tsof_rcu_cb *cb)
{
	struct tsof_flow *f = TSOF_CONTAINER_OF(cb, struct tsof_flow, rcu);

	tsof_cls_unlink(&f->pl->tables[f->table_id].cls, &f->rule);
	tsof_rcu_defer(f->pl->rcu, &f->rcu, flow_free_cb);
}

/* The table's reference to a deleted group or meter goes after a grace
 * period (publish() queues it behind any trim of its configurations). */
static void group_unref_cb(struct tsof_rcu_cb *cb)
{
	tsof_group_unref(TSOF_CONTAINER_OF(cb, struct tsof_group, rcu));
}

static void meter_unref_cb(struct tsof_rcu_cb *cb)
{
	tsof_meter_unref(TSOF_CONTAINER_OF(cb, struct tsof_meter, rcu));
}

static void free_cb(struct tsof_rcu_cb *cb)
{
	free(cb);  /* the first member of a port_vec */
}

/* ---- versions ---- */

/* Remembers a superseded value to trim after the next publish. Out of
 * memory it is kept until its owner goes: later, not wrong. */
static void add_trim(struct tsof_pipeline *pl, struct tsof_vnode *newest)
{
	if (pl->n_trims == pl->cap_trims) {
		unsigned cap = pl->cap_trims ? pl->cap_trims * 2 : 16;
		struct tsof_vnode **t = realloc(pl->trims, cap * sizeof *t);
		if (!t)
			return;
		pl->trims = t;
		pl->cap_trims = cap;
	}
	pl->trims[pl->n_trims++] = newest;
}

/* Pushes v, tagged with the pending version, in front of *head. */
static void vpush(struct tsof_pipeline *pl, struct tsof_vnode *_Atomic *head, struct tsof_vnode *v)
{
	struct tsof_vnode *old = atomic_load_explicit(head, memory_order_relaxed);

	v->version = pl->pending;
	atomic_store_explicit(&v->prev, old, memory_order_relaxed);
	atomic_store_explicit(head, v, memory_order_release);
	if (old)
		add_trim(pl, v);
	pl->dirty = true;
}

static void publish(struct tsof_pipeline *pl)
{
	if (!pl->dirty)
		return;
	uint64_t v = pl->pending;
	for (int i = 0; i < TSOF_N_TABLES; i++)
		if (pl->tables[i].touched) {
			atomic_store_explicit(&pl->tables[i].changed, v, memory_order_relaxed);
			pl->tables[i].touched = false;
		}
	atomic_store_explicit(&pl->version, v, memory_order_release);
	for (unsigned i = 0; i < pl->n_trims; i++)
		tsof_rcu_defer(pl->rcu, &pl->trims[i]->rcu, tsof_vnode_trim);
	pl->n_trims = 0;
	while (pl->removed) {
		struct tsof_flow *f = pl->removed;
		pl->removed = f->gc_next;
		tsof_rcu_defer(pl->rcu, &f->rcu, flow_unlink_cb);
	}
	/* Queued after any trim of their configurations, so those run first. */
	for (struct tsof_idnode *n = pl->dead_groups, *next; n; n = next) {
		next = n->next;
		tsof_rcu_defer(pl->rcu, &TSOF_CONTAINER_OF(n, struct tsof_group, node)->rcu, group_unref_cb);
	}
	for (struct tsof_idnode *n = pl->dead_meters, *next; n; n = next) {
		next = n->next;
		tsof_rcu_defer(pl->rcu, &TSOF_CONTAINER_OF(n, struct tsof_meter, node)->rcu, meter_unref_cb);
	}
	pl->dead_groups = pl->dead_meters = NULL;
	pl->pending = v + 1;
	pl->dirty = false;
}

static void lock(struct tsof_pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
}

/* Ends a control call: outside a batch, its changes go out now. */
static void unlock(struct tsof_pipeline *pl)
{
	if (!pl->batch)
		publish(pl);
	pthread_mutex_unlock(&pl->lock);
}

void tsof_pipeline_begin(struct tsof_pipeline *pl)
{
	lock(pl);
	pl->batch++;
	pthread_mutex_unlock(&pl->lock);
}

void tsof_pipeline_commit(struct tsof_pipeline *pl)
{
	lock(pl);
	if (pl->batch)
		pl->batch--;
	unlock(pl);
}

unsigned tsof_pipeline_reclaim(struct tsof_pipeline *pl)
{
	lock(pl);
	unsigned n = tsof_rcu_poll(pl->rcu);
	unlock(pl);
	return n;
}

/* ---- create and free ---- */

struct tsof_pipeline *tsof_pipeline_new(const struct tsof_pipeline_ops *ops)
{
	struct tsof_pipeline *pl = calloc(1, sizeof *pl);

	if (!pl)
		return NULL;
	pl->ops = *ops;
	pl->pending = 1;
	pl->max_flows = 1u << 20;
	atomic_init(&pl->config, 128);  /* no frag flags, OFP_DEFAULT_MISS_SEND_LEN */
	pthread_mutex_init(&pl->lock, NULL);
	struct port_vec *ports = calloc(1, sizeof *ports);
	if (!(pl->rcu = tsof_rcu_create()) || !ports || !(pl->macs = tsof_mac_table_new()) ||
	    tsof_idmap_init(&pl->groups) || tsof_idmap_init(&pl->meters)) {
		free(ports);
		tsof_mac_table_free(pl->macs);
		tsof_rcu_destroy(pl->rcu);
		tsof_idmap_destroy(&pl->groups);
		tsof_idmap_destroy(&pl->meters);
		pthread_mutex_destroy(&pl->lock);
		free(pl);
		return NULL;
	}
	atomic_init(&pl->ports, ports);
	for (int i = 0; i < TSOF_N_TABLES; i++)
		if (tsof_cls_init(&pl->tables[i].cls, pl->rcu)) {
			tsof_pipeline_free(pl);  /* it skips the tables not set up */
			return NULL;
		}
	return pl;
}

void tsof_pipeline_free(struct tsof_pipeline *pl)
{
	if (!pl)
		return;
	lock(pl);
	pl->batch = 0;
	publish(pl);
	pthread_mutex_unlock(&pl->lock);
	/* Pending callbacks unlink from the classifiers: run them first. */
	tsof_rcu_destroy(pl->rcu);
	for (int i = 0; i < TSOF_N_TABLES; i++) {
		struct table *t = &pl->tables[i];
		while (t->head) {
			struct tsof_flow *f = t->head;
			t->head = f->next;
			flow_free(f);
		}
		if (atomic_load_explicit(&t->cls.vec, memory_order_relaxed))
			tsof_cls_destroy(&t->cls);
	}
	struct tsof_idnode *n;
	if (pl->groups.buckets) {
		while ((n = tsof_idmap_first(&pl->groups))) {
			tsof_idmap_remove(&pl->groups, n);
			tsof_group_unref(TSOF_CONTAINER_OF(n, struct tsof_group, node));
		}
		tsof_idmap_destroy(&pl->groups);
	}
	if (pl->meters.buckets) {
		while ((n = tsof_idmap_first(&pl->meters))) {
			tsof_idmap_remove(&pl->meters, n);
			tsof_meter_unref(TSOF_CONTAINER_OF(n, struct tsof_meter, node));
		}
		tsof_idmap_destroy(&pl->meters);
	}
	free(atomic_load_explicit(&pl->ports, memory_order_relaxed));
	tsof_mac_table_free(pl->macs);
	free(pl->trims);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
}

/* ---- configuration and ports ---- */

void tsof_pipeline_set_config(struct tsof_pipeline *pl, uint16_t flags, uint16_t miss_send_len)
{
	atomic_store_explicit(&pl->config, (uint32_t)(flags & TSOF_OFPC_FRAG_MASK) << 16 | miss_send_len,
			      memory_order_relaxed);
}

void tsof_pipeline_set_max_flows(struct tsof_pipeline *pl, unsigned max_flows)
{
	lock(pl);
	pl->max_flows = max_flows;
	unlock(pl);
}

static const struct port_info *port_find(const struct port_vec *v, uint32_t port_no)
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

/* Replaces the port table with a copy that has port_no set (keep) or gone. */
static int ports_update(struct tsof_pipeline *pl, uint32_t port_no, bool keep, uint32_t config, uint32_t state)
{
	const struct port_vec *old = atomic_load_explicit(&pl->ports, memory_order_relaxed);
	struct port_vec *v = malloc(sizeof *v + (old->n + 1) * sizeof v->p[0]);
	uint32_t j = 0;
	bool placed = false;

	if (!v)
		return -1;
	for (uint32_t i = 0; i < old->n; i++) {
		if (!placed && old->p[i].port_no >= port_no) {
			if (keep)
				v->p[j++] = (struct port_info){ port_no, config, state };
			placed = true;
			if (old->p[i].port_no == port_no)
				continue;
		}
		v->p[j++] = old->p[i];
	}
	if (!placed && keep)
		v->p[j++] = (struct port_info){ port_no, config, state };
	v->n = j;
	atomic_store_explicit(&pl->ports, v, memory_order_release);
	tsof_rcu_defer(pl->rcu, &((struct port_vec *)old)->rcu, free_cb);
	return 0;
}

/* What was learned on a port that is down or gone no longer holds: the
 * hosts behind it may turn up elsewhere. */
int tsof_pipeline_port_set(struct tsof_pipeline *pl, uint32_t port_no, uint32_t config, uint32_t state)
{
	lock(pl);
	int err = ports_update(pl, port_no, true, config, state);
	unlock(pl);
	if ((config & TSOF_OFPPC_PORT_DOWN) || (state & TSOF_OFPPS_LINK_DOWN))
		tsof_mac_forget_port(pl->macs, port_no);
	return err;
}

void tsof_pipeline_port_del(struct tsof_pipeline *pl, uint32_t port_no)
{
	lock(pl);
	(void)ports_update(pl, port_no, false, 0, 0);  /* out of memory: it stays */
	unlock(pl);
	tsof_mac_forget_port(pl->macs, port_no);
}

void tsof_pipeline_set_mac_aging(struct tsof_pipeline *pl, unsigned seconds)
{
	tsof_mac_table_set_aging(pl->macs, seconds);
}

/* ---- instructions ---- */

static struct tsof_group *env_group(void *arg, uint32_t id)
{
	struct tsof_group *g = tsof_group_find(arg, id);

	if (g)
		tsof_group_ref(g);
	return g;
}

static int insts_parse(struct tsof_pipeline *pl, uint8_t table_id, const uint8_t *p, size_t len,
		       struct tsof_insts **out)
{
	const struct tsof_action_env env = { env_group, &pl->groups, false };
	struct tsof_insts *in = calloc(1, sizeof *in);
	uint32_t seen = 0;
	int err = 0;

	if (!in || (len && !(in->wire = malloc(len)))) {
		free(in);
		return -1;
	}
	in->v.free = insts_free_vnode;
	in->goto_table = -1;
	if (len)
		memcpy(in->wire, p, len);
	in->wire_len = (uint32_t)len;
	for (size_t at = 0; at < len && !err; ) {
		const uint8_t *i = p + at;
		size_t ilen = len - at >= 4 ? tsof_rd16(i + 2) : 0;
		uint16_t type = tsof_rd16(i);
		if (ilen < 8 || ilen % 8 || ilen > len - at) {
			err = BAD_INST(BAD_LEN);
			break;
		}
		at += ilen;
		/* Each instruction at most once (5.9); 1.3 has no DUP_INST code. */
		if (type < 32 && (seen >> type & 1)) {
			err = BAD_INST(UNSUP_INST);
			break;
		}
		if (type < 32)
			seen |= 1u << type;
		switch (type) {
		case TSOF_OFPIT_GOTO_TABLE:
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			else if (i[4] <= table_id || i[4] >= TSOF_N_TABLES)
				err = BAD_INST(BAD_TABLE_ID);  /* only forward (5.1) */
			else
				in->goto_table = i[4];
			break;
		case TSOF_OFPIT_WRITE_METADATA:
			if (ilen != 24) {
				err = BAD_INST(BAD_LEN);
				break;
			}
			in->write_metadata = true;
			in->metadata = tsof_rd64(i + 8);
			in->metadata_mask = tsof_rd64(i + 16);
			break;
		case TSOF_OFPIT_WRITE_ACTIONS:
		case TSOF_OFPIT_APPLY_ACTIONS:
			err = tsof_actions_parse(i + 8, ilen - 8, &env, type == TSOF_OFPIT_WRITE_ACTIONS,
						 type == TSOF_OFPIT_WRITE_ACTIONS ? &in->write : &in->apply);
			break;
		case TSOF_OFPIT_CLEAR_ACTIONS:
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			in->clear = true;
			break;
		case TSOF_OFPIT_METER: {
			uint32_t id = tsof_rd32(i + 4);
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			else if (id > TSOF_OFPM_MAX || !(in->meter = tsof_meter_find(&pl->meters, id)))
				err = METER_ERR(UNKNOWN_METER);
			else
				tsof_meter_ref(in->meter);
			break;
		}
		case TSOF_OFPIT_EXPERIMENTER:
			err = BAD_INST(BAD_EXPERIMENTER);
			break;
		default:
			err = BAD_INST(UNKNOWN_INST);
			break;
		}
	}
	if (err) {
		insts_free(in);
		return err;
	}
	*out = in;
	return 0;
}

/* Flows and groups that name a group or meter: ref_count and flow_count in
 * the stats replies. */
static void insts_count(const struct tsof_insts *in, int d)
{
	const struct tsof_actions *lists[2] = { in->apply, in->write };

	if (in->meter)
		in->meter->n_flows += (unsigned)d;
	for (int l = 0; l < 2; l++)
		for (uint32_t i = 0; lists[l] && i < lists[l]->n; i++)
			if (lists[l]->a[i].type == TSOF_OFPAT_GROUP)
				lists[l]->a[i].u.group->n_flows += (unsigned)d;
}

static bool insts_output_to(const struct tsof_insts *in, uint32_t port, uint32_t group)
{
	return (tsof_actions_output_to(in->apply, port) || tsof_actions_output_to(in->write, port)) &&
	       (tsof_actions_group_to(in->apply, group) || tsof_actions_group_to(in->write, group));
}

/* ---- flow-mods ---- */

static void table_link(struct table *t, struct tsof_flow *f)
{
	f->next = NULL;
	f->prev = t->tail;
	if (t->tail)
		t->tail->next = f;
	else
		t->head = f;
	t->tail = f;
	t->n_flows++;
}

static void table_unlink(struct table *t, struct tsof_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->tail = f->prev;
	t->n_flows--;
}

static void report_removed(struct tsof_pipeline *pl, const struct tsof_flow *f, int reason, uint64_t now)
{
	if (!(f->flags & TSOF_OFPFF_SEND_FLOW_REM) || !pl->ops.flow_removed)
		return;
	struct tsof_flow_removed fr = {
		.table_id = f->table_id, .reason = (uint8_t)reason, .priority = f->priority,
		.idle_timeout = f->idle_timeout, .hard_timeout = f->hard_timeout, .cookie = f->cookie,
		.packets = get(&f->n_packets), .bytes = get(&f->n_bytes),
		.duration_ns = since(now, f->created), .match = f->match_wire, .match_len = f->match_len,
	};
	pl->ops.flow_removed(pl->ops.arg, &fr);
}

/* Takes f out at the pending version; reason < 0: no flow-removed message
 * (a replaced flow). */
static void flow_remove(struct tsof_pipeline *pl, struct tsof_flow *f, int reason, uint64_t now)
{
	struct table *t = &pl->tables[f->table_id];

	tsof_cls_remove(&f->rule, pl->pending);
	table_unlink(t, f);
	t->touched = true;
	pl->dirty = true;
	insts_count(flow_insts(f), -1);
	if (reason >= 0)
		report_removed(pl, f, reason, now);
	f->gc_next = pl->removed;
	pl->removed = f;
}

static int flow_add(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm, const struct tsof_match *m,
		    size_t match_len, struct tsof_insts *in, uint64_t now)
{
	struct table *t = &pl->tables[fm->table_id];
	struct tsof_cls_rule *old_rule = tsof_cls_find(&t->cls, m, fm->priority, pl->pending);
	struct tsof_flow *old = old_rule ? TSOF_CONTAINER_OF(old_rule, struct tsof_flow, rule) : NULL;

	if (fm->flags & TSOF_OFPFF_CHECK_OVERLAP)
		for (struct tsof_flow *f = t->head; f; f = f->next) {
			struct tsof_match fmatch;
			if (f->priority != fm->priority)
				continue;
			tsof_cls_rule_match(&f->rule, &fmatch);
			if (tsof_match_overlaps(&fmatch, m))
				return FLOW_ERR(OVERLAP);
		}
	if (!old && t->n_flows >= pl->max_flows)
		return FLOW_ERR(TABLE_FULL);

	struct tsof_flow *f = calloc(1, sizeof *f);
	if (!f || !(f->match_wire = malloc(match_len ? match_len : 1))) {
		free(f);
		return -1;
	}
	memcpy(f->match_wire, fm->match, match_len);
	f->match_len = (uint32_t)match_len;
	f->pl = pl;
	f->cookie = fm->cookie;
	f->created = now;
	atomic_init(&f->used, now);
	f->priority = fm->priority;
	f->idle_timeout = fm->idle_timeout;
	f->hard_timeout = fm->hard_timeout;
	f->flags = fm->flags;
	f->table_id = fm->table_id;
	f->table_miss = fm->priority == 0 && tsof_match_is_catchall(m);
	/* A replaced flow passes its counters on unless told otherwise (as
	 * Open vSwitch does); its duration starts again. */
	atomic_init(&f->n_packets, old && !(fm->flags & TSOF_OFPFF_RESET_COUNTS) ? get(&old->n_packets) : 0);
	atomic_init(&f->n_bytes, old && !(fm->flags & TSOF_OFPFF_RESET_COUNTS) ? get(&old->n_bytes) : 0);
	in->v.version = pl->pending;
	atomic_init(&f->insts, &in->v);
	if (tsof_cls_insert(&t->cls, &f->rule, m, fm->priority, pl->pending)) {
		atomic_init(&f->insts, NULL);
		flow_free(f);
		return -1;
	}
	if (old)
		flow_remove(pl, old, -1, now);
	table_link(t, f);
	insts_count(in, 1);
	t->touched = true;
	pl->dirty = true;
	return 0;
}

static bool cookie_selects(const struct tsof_flow_mod *fm, const struct tsof_flow *f)
{
	return ((f->cookie ^ fm->cookie) & fm->cookie_mask) == 0;
}

static void flow_modify(struct tsof_pipeline *pl, struct tsof_flow *f, struct tsof_insts *in, bool reset)
{
	insts_count(flow_insts(f), -1);
	vpush(pl, &f->insts, &in->v);
	insts_count(in, 1);
	if (reset) {
		atomic_store_explicit(&f->n_packets, 0, memory_order_relaxed);
		atomic_store_explicit(&f->n_bytes, 0, memory_order_relaxed);
	}
}

/* The flows a modify or delete selects, in a table (6.4): strict ones by
 * identical match and priority, others by a match within the request's. */
static bool selects(const struct tsof_flow_mod *fm, const struct tsof_match *m, bool strict,
		    struct tsof_flow *f)
{
	struct tsof_match fmatch;

	if (!cookie_selects(fm, f))
		return false;
	tsof_cls_rule_match(&f->rule, &fmatch);
	return strict ? f->priority == fm->priority && tsof_match_equal(&fmatch, m)
		      : tsof_match_within(&fmatch, m);
}

static int flow_mod_modify(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm,
			   const struct tsof_match *m, struct tsof_insts *in)
{
	bool strict = fm->command == TSOF_OFPFC_MODIFY_STRICT;
	struct table *t = &pl->tables[fm->table_id];

	/* Each flow gets its own copy of the instructions (they chain per flow):
	 * the first takes `in`, the others parse the same bytes again. */
	for (struct tsof_flow *f = t->head; f; f = f->next) {
		if (!selects(fm, m, strict, f))
			continue;
		if (!in) {
			int err = insts_parse(pl, fm->table_id, fm->insts, fm->insts_len, &in);
			if (err)
				return err;
		}
		flow_modify(pl, f, in, fm->flags & TSOF_OFPFF_RESET_COUNTS);
		in = NULL;
	}
	/* No flow selected: nothing happens (6.4, OpenFlow 1.3). */
	insts_free(in);
	return 0;
}

static void flow_mod_delete(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm,
			    const struct tsof_match *m, uint64_t now)
{
	bool strict = fm->command == TSOF_OFPFC_DELETE_STRICT;
	int first = fm->table_id == TSOF_OFPTT_ALL ? 0 : fm->table_id;
	int last = fm->table_id == TSOF_OFPTT_ALL ? TSOF_N_TABLES - 1 : fm->table_id;

	for (int i = first; i <= last; i++)
		for (struct tsof_flow *f = pl->tables[i].head, *next; f; f = next) {
			next = f->next;
			if (selects(fm, m, strict, f) && insts_output_to(flow_insts(f), fm->out_port, fm->out_group))
				flow_remove(pl, f, TSOF_OFPRR_DELETE, now);
		}
}

static int flow_mod_locked(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm, uint64_t now)
{
	const uint16_t known = TSOF_OFPFF_SEND_FLOW_REM | TSOF_OFPFF_CHECK_OVERLAP | TSOF_OFPFF_RESET_COUNTS |
			       TSOF_OFPFF_NO_PKT_COUNTS | TSOF_OFPFF_NO_BYT_COUNTS;
	struct tsof_match m;
	struct tsof_insts *in;
	size_t used;
	int err;

	if (fm->command > TSOF_OFPFC_DELETE_STRICT)
		return FLOW_ERR(BAD_COMMAND);
	if (fm->flags & ~known)
		return FLOW_ERR(BAD_FLAGS);
	bool del = fm->command == TSOF_OFPFC_DELETE || fm->command == TSOF_OFPFC_DELETE_STRICT;
	if (fm->table_id >= TSOF_N_TABLES && !(del && fm->table_id == TSOF_OFPTT_ALL))
		return FLOW_ERR(BAD_TABLE_ID);
	if ((err = tsof_match_from_wire(fm->match, fm->match_len, &used, &m)))
		return err;
	if (del) {
		flow_mod_delete(pl, fm, &m, now);
		return 0;
	}
	if ((err = insts_parse(pl, fm->table_id, fm->insts, fm->insts_len, &in)))
		return err;
	if (fm->command == TSOF_OFPFC_ADD) {
		if ((err = flow_add(pl, fm, &m, used, in, now)))
			insts_free(in);
		return err;
	}
	return flow_mod_modify(pl, fm, &m, in);
}

int tsof_pipeline_flow_mod(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm, uint64_t now)
{
	lock(pl);
	int err = flow_mod_locked(pl, fm, now);
	unlock(pl);
	return err;
}

unsigned tsof_pipeline_expire(struct tsof_pipeline *pl, uint64_t now)
{
	unsigned n = 0;

	lock(pl);
	for (int i = 0; i < TSOF_N_TABLES; i++)
		for (struct tsof_flow *f = pl->tables[i].head, *next; f; f = next) {
			next = f->next;
			if (f->hard_timeout && since(now, f->created) >= f->hard_timeout * NS_PER_SEC)
				flow_remove(pl, f, TSOF_OFPRR_HARD_TIMEOUT, now);
			else if (f->idle_timeout && since(now, get(&f->used)) >= f->idle_timeout * NS_PER_SEC)
				flow_remove(pl, f, TSOF_OFPRR_IDLE_TIMEOUT, now);
			else
				continue;
			n++;
		}
	unlock(pl);
	return n;
}

/* ---- group-mods ---- */

static bool flow_uses_group(const struct tsof_flow *f, uint32_t id)
{
	const struct tsof_insts *in = flow_insts(f);

	return tsof_actions_group_to(in->apply, id) || tsof_actions_group_to(in->write, id);
}

static const struct tsof_group_cfg *newest_cfg(const struct tsof_group *g)
{
	return TSOF_CONTAINER_OF(atomic_load_explicit(&g->cfg, memory_order_relaxed), const struct tsof_group_cfg, v);
}

/* Deletes g and the flows that send to it (6.5). */
static void group_delete(struct tsof_pipeline *pl, struct tsof_group *g, uint64_t now)
{
	for (int i = 0; i < TSOF_N_TABLES; i++)
		for (struct tsof_flow *f = pl->tables[i].head, *next; f; f = next) {
			next = f->next;
			if (flow_uses_group(f, g->node.id))
				flow_remove(pl, f, TSOF_OFPRR_GROUP_DELETE, now);
		}
	tsof_idmap_remove(&pl->groups, &g->node);
	g->node.next = pl->dead_groups;
	pl->dead_groups = &g->node;
	pl->dirty = true;
}

static int group_mod_locked(struct tsof_pipeline *pl, const struct tsof_group_mod *gm, uint64_t now)
{
	struct tsof_group *g = tsof_group_find(&pl->groups, gm->group_id);
	struct tsof_group_cfg *cfg;
	int err;

	switch (gm->command) {
	case TSOF_OFPGC_ADD:
	case TSOF_OFPGC_MODIFY:
		if (gm->group_id > TSOF_OFPG_MAX)
			return GROUP_ERR(INVALID_GROUP);
		if (gm->command == TSOF_OFPGC_ADD ? g != NULL : g == NULL)
			return gm->command == TSOF_OFPGC_ADD ? GROUP_ERR(GROUP_EXISTS) : GROUP_ERR(UNKNOWN_GROUP);
		if ((err = tsof_group_cfg_parse(&pl->groups, gm->group_id, gm->type, gm->buckets,
						gm->buckets_len, &cfg)))
			return err;
		if (g && tsof_group_cfg_loops(gm->group_id, cfg)) {
			tsof_group_cfg_free(cfg);
			return GROUP_ERR(LOOP);
		}
		if (!g) {
			if (!(g = tsof_group_new(gm->group_id, now)) || tsof_idmap_insert(&pl->groups, &g->node)) {
				free(g);
				tsof_group_cfg_free(cfg);
				return -1;
			}
		}
		vpush(pl, &g->cfg, &cfg->v);
		return 0;
	case TSOF_OFPGC_DELETE:
		if (gm->group_id == TSOF_OFPG_ALL) {
			struct tsof_idnode *n;
			while ((n = tsof_idmap_first(&pl->groups)))
				group_delete(pl, TSOF_CONTAINER_OF(n, struct tsof_group, node), now);
			return 0;
		}
		if (!g)
			return 0;  /* deleting a group that is not there is no error */
		/* Another group forwarding to it or watching it must go first. */
		for (uint32_t i = 0; i < pl->groups.n_buckets; i++)
			for (struct tsof_idnode *n = pl->groups.buckets[i]; n; n = n->next) {
				struct tsof_group *o = TSOF_CONTAINER_OF(n, struct tsof_group, node);
				if (o != g && tsof_group_cfg_refers(newest_cfg(o), g->node.id))
					return GROUP_ERR(CHAINED_GROUP);
			}
		group_delete(pl, g, now);
		return 0;
	default:
		return GROUP_ERR(BAD_COMMAND);
	}
}

int tsof_pipeline_group_mod(struct tsof_pipeline *pl, const struct tsof_group_mod *gm, uint64_t now)
{
	lock(pl);
	int err = group_mod_locked(pl, gm, now);
	unlock(pl);
	return err;
}

/* ---- meter-mods ---- */

static void meter_delete(struct tsof_pipeline *pl, struct tsof_meter *m, uint64_t now)
{
	/* Its flows go too, as in Open vSwitch (reported as OFPRR_DELETE:
	 * OFPRR_METER_DELETE is OpenFlow 1.4). */
	for (int i = 0; i < TSOF_N_TABLES; i++)
		for (struct tsof_flow *f = pl->tables[i].head, *next; f; f = next) {
			next = f->next;
			if (flow_insts(f)->meter == m)
				flow_remove(pl, f, TSOF_OFPRR_DELETE, now);
		}
	tsof_idmap_remove(&pl->meters, &m->node);
	m->node.next = pl->dead_meters;
	pl->dead_meters = &m->node;
	pl->dirty = true;
}

static int meter_mod_locked(struct tsof_pipeline *pl, const struct tsof_meter_mod *mm, uint64_t now)
{
	struct tsof_meter *m = tsof_meter_find(&pl->meters, mm->meter_id);
	struct tsof_meter_cfg *cfg;
	int err;

	switch (mm->command) {
	case TSOF_OFPMC_ADD:
	case TSOF_OFPMC_MODIFY:
		/* The virtual meters (slowpath, controller, all) are not offered. */
		if (!mm->meter_id || mm->meter_id > TSOF_OFPM_MAX)
			return METER_ERR(INVALID_METER);
		if (mm->command == TSOF_OFPMC_ADD ? m != NULL : m == NULL)
			return mm->command == TSOF_OFPMC_ADD ? METER_ERR(METER_EXISTS) : METER_ERR(UNKNOWN_METER);
		if ((err = tsof_meter_cfg_parse(mm->flags, mm->bands, mm->bands_len, now, &cfg)))
			return err;
		if (!m) {
			if (!(m = tsof_meter_new(mm->meter_id, now)) || tsof_idmap_insert(&pl->meters, &m->node)) {
				free(m);
				tsof_meter_cfg_free(cfg);
				return -1;
			}
		}
		vpush(pl, &m->cfg, &cfg->v);
		return 0;
	case TSOF_OFPMC_DELETE:
		if (mm->meter_id == TSOF_OFPM_ALL) {
			struct tsof_idnode *n;
			while ((n = tsof_idmap_first(&pl->meters)))
				meter_delete(pl, TSOF_CONTAINER_OF(n, struct tsof_meter, node), now);
		} else if (m) {
			meter_delete(pl, m, now);
		}
		return 0;
	default:
		return METER_ERR(BAD_COMMAND);
	}
}

int tsof_pipeline_meter_mod(struct tsof_pipeline *pl, const struct tsof_meter_mod *mm, uint64_t now)
{
	lock(pl);
	int err = meter_mod_locked(pl, mm, now);
	unlock(pl);
	return err;
}

int tsof_pipeline_parse_actions(struct tsof_pipeline *pl, const uint8_t *p, size_t len,
				struct tsof_actions **out)
{
	const struct tsof_action_env env = { env_group, &pl->groups, true };

	lock(pl);
	int err = tsof_actions_parse(p, len, &env, false, out);
	unlock(pl);
	return err;
}

/* ---- wire messages ---- */

int tsof_flow_mod_decode(const uint8_t *msg, size_t len, struct tsof_flow_mod *fm)
{
	size_t mlen;

	/* header 8, then cookie .. pad: 40 bytes, then ofp_match. */
	if (len < 56 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	fm->cookie = tsof_rd64(msg + 8);
	fm->cookie_mask = tsof_rd64(msg + 16);
	fm->table_id = msg[24];
	fm->command = msg[25];
	fm->idle_timeout = tsof_rd16(msg + 26);
	fm->hard_timeout = tsof_rd16(msg + 28);
	fm->priority = tsof_rd16(msg + 30);
	fm->buffer_id = tsof_rd32(msg + 32);
	fm->out_port = tsof_rd32(msg + 36);
	fm->out_group = tsof_rd32(msg + 40);
	fm->flags = tsof_rd16(msg + 44);
	mlen = (tsof_rd16(msg + 50) + 7u) & ~7u;
	if (mlen < 8 || mlen > len - 48)
		return BAD_LEN;
	fm->match = msg + 48;
	fm->match_len = mlen;
	fm->insts = msg + 48 + mlen;
	fm->insts_len = len - 48 - mlen;
	return 0;
}

int tsof_group_mod_decode(const uint8_t *msg, size_t len, struct tsof_group_mod *gm)
{
	if (len < 16 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	gm->command = tsof_rd16(msg + 8);
	gm->type = msg[10];
	gm->group_id = tsof_rd32(msg + 12);
	gm->buckets = msg + 16;
	gm->buckets_len = len - 16;
	return 0;
}

int tsof_meter_mod_decode(const uint8_t *msg, size_t len, struct tsof_meter_mod *mm)
{
	if (len < 16 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	mm->command = tsof_rd16(msg + 8);
	mm->flags = tsof_rd16(msg + 10);
	mm->meter_id = tsof_rd32(msg + 12);
	mm->bands = msg + 16;
	mm->bands_len = len - 16;
	return 0;
}

/* ---- statistics ---- */

int tsof_pipeline_flow_stats(struct tsof_pipeline *pl, const struct tsof_flow_filter *flt, uint64_t now,
			     void (*cb)(void *arg, const struct tsof_flow_stats *fs), void *arg)
{
	struct tsof_match m;
	size_t used;
	int err = tsof_match_from_wire(flt->match, flt->match_len, &used, &m);

	if (err)
		return err;
	if (flt->table_id >= TSOF_N_TABLES && flt->table_id != TSOF_OFPTT_ALL)
		return FLOW_ERR(BAD_TABLE_ID);
	struct tsof_flow_mod sel = { .cookie = flt->cookie, .cookie_mask = flt->cookie_mask };
	int first = flt->table_id == TSOF_OFPTT_ALL ? 0 : flt->table_id;
	int last = flt->table_id == TSOF_OFPTT_ALL ? TSOF_N_TABLES - 1 : flt->table_id;
	lock(pl);
	for (int i = first; i <= last; i++)
		for (struct tsof_flow *f = pl->tables[i].head; f; f = f->next) {
			const struct tsof_insts *in = flow_insts(f);
			if (!selects(&sel, &m, false, f) || !insts_output_to(in, flt->out_port, flt->out_group))
				continue;
			struct tsof_flow_stats fs = {
				.table_id = f->table_id, .priority = f->priority, .idle_timeout = f->idle_timeout,
				.hard_timeout = f->hard_timeout, .flags = f->flags, .cookie = f->cookie,
				.packets = get(&f->n_packets), .bytes = get(&f->n_bytes),
				.duration_ns = since(now, f->created), .match = f->match_wire,
				.match_len = f->match_len, .insts = in->wire, .insts_len = in->wire_len,
			};
			cb(arg, &fs);
		}
	unlock(pl);
	return 0;
}

void tsof_pipeline_table_stats(struct tsof_pipeline *pl, uint8_t table_id, struct tsof_table_stats *ts)
{
	memset(ts, 0, sizeof *ts);
	if (table_id >= TSOF_N_TABLES)
		return;
	lock(pl);
	struct table *t = &pl->tables[table_id];
	ts->active = t->n_flows;
	ts->lookups = t->lookups;
	ts->matched = t->matched;
	for (int i = 0; i < MAX_THREADS; i++)
		if (pl->threads[i]) {
			ts->lookups += get(&pl->threads[i]->lookups[table_id]);
			ts->matched += get(&pl->threads[i]->matched[table_id]);
		}
	unlock(pl);
}

static void group_report(struct tsof_group *g, uint64_t now,
			 void (*cb)(void *arg, const struct tsof_group_stats *gs), void *arg)
{
	const struct tsof_group_cfg *cfg = newest_cfg(g);
	uint64_t bp[cfg->n_buckets ? cfg->n_buckets : 1], bb[cfg->n_buckets ? cfg->n_buckets : 1];

	for (uint32_t i = 0; i < cfg->n_buckets; i++) {
		bp[i] = get(&cfg->b[i].n_packets);
		bb[i] = get(&cfg->b[i].n_bytes);
	}
	struct tsof_group_stats gs = {
		.group_id = g->node.id, .ref_count = g->n_flows, .n_buckets = cfg->n_buckets,
		.type = cfg->type, .packets = get(&g->n_packets), .bytes = get(&g->n_bytes),
		.duration_ns = since(now, g->created), .bucket_packets = bp, .bucket_bytes = bb,
		.buckets = cfg->wire, .buckets_len = cfg->wire_len,
	};
	cb(arg, &gs);
}

unsigned tsof_pipeline_group_stats(struct tsof_pipeline *pl, uint32_t group_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_group_stats *gs), void *arg)
{
	unsigned n = 0;

	lock(pl);
	for (uint32_t i = 0; i < pl->groups.n_buckets; i++)
		for (struct tsof_idnode *node = pl->groups.buckets[i]; node; node = node->next)
			if (group_id == TSOF_OFPG_ALL || node->id == group_id) {
				group_report(TSOF_CONTAINER_OF(node, struct tsof_group, node), now, cb, arg);
				n++;
			}
	unlock(pl);
	return n;
}

unsigned tsof_pipeline_meter_stats(struct tsof_pipeline *pl, uint32_t meter_id, uint64_t now,
				   void (*cb)(void *arg, const struct tsof_meter_stats_reply *ms), void *arg)
{
	unsigned n = 0;

	lock(pl);
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
				.duration_ns = since(now, m->created), .band_packets = s.band_packets,
				.band_bytes = s.band_bytes, .bands = cfg->wire, .bands_len = cfg->wire_len,
			};
			cb(arg, &ms);
			n++;
		}
	unlock(pl);
	return n;
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
	lock(pl);
	t->slot = -1;
	for (int i = 0; i < MAX_THREADS && t->slot < 0; i++)
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
	lock(pl);
	for (int i = 0; i < TSOF_N_TABLES; i++) {
		pl->tables[i].lookups += get(&t->lookups[i]);
		pl->tables[i].matched += get(&t->matched[i]);
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

void tsof_pipeline_thread_stats(const struct tsof_pl_thread *t, struct tsof_pl_thread_stats *s)
{
	s->packets = get(&t->c.packets);
	s->emc_hits = get(&t->c.emc_hits);
	s->cls_lookups = get(&t->c.cls_lookups);
	s->table_misses = get(&t->c.table_misses);
	s->invalid_ttl = get(&t->c.invalid_ttl);
	s->meter_drops = get(&t->c.meter_drops);
	s->dropped = get(&t->c.dropped);
	s->outputs = get(&t->c.outputs);
	s->packet_ins = get(&t->c.packet_ins);
}

/* ---- running a frame ---- */

/* One frame's walk: the frame and key, the action set, and where it is. */
struct xctx {
	struct tsof_pl_thread *t;
	struct tsof_pipeline *pl;
	uint64_t version, now;
	struct tsof_xframe x;
	const struct port_vec *ports;
	uint32_t queue_id;
	uint8_t table_id;
	bool table_miss;     /* in a table-miss flow: controller output says NO_MATCH */
	bool stop;           /* dropped: invalid TTL, no room */
	int depth;           /* copies made for groups and OFPP_TABLE */
	uint64_t cookie;     /* for packet-ins: the flow's in apply-actions, else all-ones */
	uint64_t as_slots;
	const struct tsof_action *as[TSOF_AS_N];
};

static void run_tables(struct xctx *c, uint8_t table_id);
static void exec_list(struct xctx *c, const struct tsof_actions *acts);

static void to_controller(struct xctx *c, uint8_t reason, uint16_t max_len)
{
	const struct tsof_pl_frame *p = c->x.pkt;
	const struct port_info *in = port_find(c->ports, p->in_port);

	if (!c->pl->ops.packet_in || (in && (in->config & TSOF_OFPPC_NO_PACKET_IN)))
		return;
	struct tsof_packet_in pin = {
		.reason = reason, .table_id = c->table_id, .cookie = c->cookie,
		.in_port = p->in_port, .in_phy_port = p->in_phy_port,
		.metadata = tsof_ntoh64(c->x.key.metadata), .tunnel_id = p->tunnel_id,
		.data = p->data, .len = p->len, .max_len = max_len,
	};
	c->pl->ops.packet_in(c->t->ctx, &pin);
	count(&c->t->c.packet_ins, 1);
}

static void send_out(struct xctx *c, uint32_t port)
{
	c->pl->ops.output(c->t->ctx, port, c->queue_id, c->x.pkt);
	count(&c->t->c.outputs, 1);
}

/* A port sends nothing while down (by config or link) or NO_FWD; a blocked
 * one still gets what is sent to it by number and ALL, but not FLOOD or
 * NORMAL (4.5). */
static bool forwards(const struct port_info *pi, bool blocked_ok)
{
	return !(pi->config & (TSOF_OFPPC_PORT_DOWN | TSOF_OFPPC_NO_FWD)) && !(pi->state & TSOF_OFPPS_LINK_DOWN) &&
	       (blocked_ok || !(pi->state & TSOF_OFPPS_BLOCKED));
}

static void emit(struct xctx *c, uint32_t port)
{
	const struct port_info *pi = port_find(c->ports, port);

	if (pi && forwards(pi, true))
		send_out(c, port);
	else
		count(&c->t->c.dropped, 1);
}

/* FLOOD, ALL and NORMAL's flood: every port but the ingress one that
 * forwards. FLOOD and ALL leave out LOCAL, a reserved port (4.5); NORMAL
 * keeps it, as Open vSwitch's bridge floods to its local port. */
static void flood(struct xctx *c, uint32_t how)
{
	for (uint32_t i = 0; i < c->ports->n; i++) {
		const struct port_info *pi = &c->ports->p[i];
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
 * tag. A packet-out's frame from no port is not learned. */
static void normal(struct xctx *c)
{
	uint32_t in_port = c->x.pkt->in_port;
	const struct port_info *in = port_find(c->ports, in_port);

	tsof_xframe_refresh(&c->x);
	const struct tsof_flow_key *k = &c->x.key;
	if (!(k->layers & TSOF_L_ETH) || (in && (in->state & TSOF_OFPPS_BLOCKED)) || reserved_multicast(k->eth_dst)) {
		count(&c->t->c.dropped, 1);
		return;
	}
	uint16_t vlan = tsof_ntoh16(k->vlan_vid) & 0xfff;  /* VID 0: untagged's VLAN */
	if (in && !(k->eth_src[0] & 1))
		tsof_mac_learn(c->pl->macs, k->eth_src, vlan, in_port, c->now);
	uint32_t port = k->eth_dst[0] & 1 ? 0 : tsof_mac_lookup(c->pl->macs, k->eth_dst, vlan, c->now);
	if (!port) {
		flood(c, TSOF_OFPP_NORMAL);
		return;
	}
	const struct port_info *out = port_find(c->ports, port);
	if (port != in_port && out && forwards(out, false))
		send_out(c, port);
	else
		count(&c->t->c.dropped, 1);
}

/* A copy of the frame in this level's scratch buffer, with a context of its
 * own (empty action set, key carried over). false if too deep or too big. */
static bool clone(struct xctx *c, struct xctx *sub, struct tsof_pl_frame *copy)
{
	const struct tsof_pl_frame *p = c->x.pkt;

	if (c->depth >= TSOF_GROUP_MAX_DEPTH || p->len > SCRATCH_SIZE - 2 * TSOF_PL_HEADROOM) {
		count(&c->t->c.dropped, 1);
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
	return true;
}

static bool port_live(void *arg, uint32_t port)
{
	const struct xctx *c = arg;

	if (c->pl->ops.port_live)
		return c->pl->ops.port_live(c->t->ctx, port);
	const struct port_info *pi = port_find(c->ports, port);
	return pi && !(pi->config & TSOF_OFPPC_PORT_DOWN) && !(pi->state & TSOF_OFPPS_LINK_DOWN);
}

static void run_bucket(struct xctx *c, const struct tsof_bucket *b)
{
	struct xctx sub;
	struct tsof_pl_frame copy;

	atomic_fetch_add_explicit((_Atomic uint64_t *)&b->n_packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit((_Atomic uint64_t *)&b->n_bytes, c->x.pkt->len, memory_order_relaxed);
	if (clone(c, &sub, &copy))
		exec_list(&sub, b->actions);  /* already an action set, in its order */
}

static void do_group(struct xctx *c, struct tsof_group *g)
{
	const struct tsof_group_cfg *cfg = tsof_group_cfg_at(g, c->version);
	const struct tsof_bucket *b = NULL;

	atomic_fetch_add_explicit(&g->n_packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g->n_bytes, c->x.pkt->len, memory_order_relaxed);
	switch (cfg->type) {
	case TSOF_OFPGT_ALL:
		for (uint32_t i = 0; i < cfg->n_buckets; i++)
			run_bucket(c, &cfg->b[i]);
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
	if (b)
		run_bucket(c, b);
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
			count(&c->t->c.dropped, 1);
		else
			emit(c, port);
		break;
	}
}

static void exec_action(struct xctx *c, const struct tsof_action *a)
{
	switch (a->type) {
	case TSOF_OFPAT_OUTPUT:
		do_output(c, a->u.output.port, a->u.output.max_len);
		return;
	case TSOF_OFPAT_SET_QUEUE:
		c->queue_id = a->u.queue_id;
		return;
	case TSOF_OFPAT_GROUP:
		do_group(c, a->u.group);
		return;
	default:
		switch (tsof_act_execute(&c->x, a)) {
		case TSOF_ACT_INVALID_TTL:
			/* The frame goes no further (5.12); the controller may
			 * ask for it (OFPR_INVALID_TTL in its async config). */
			count(&c->t->c.invalid_ttl, 1);
			to_controller(c, TSOF_OFPR_INVALID_TTL,
				      (uint16_t)(atomic_load_explicit(&c->pl->config, memory_order_relaxed) & 0xffff));
			c->stop = true;
			return;
		case TSOF_ACT_NO_ROOM:
			count(&c->t->c.dropped, 1);
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
	while (s && !c->stop) {
		int slot = __builtin_ctzll(s);
		s &= s - 1;
		exec_action(c, c->as[slot]);
	}
}

/* The frame is metered; false if a drop band took it. */
static bool meter(struct xctx *c, struct tsof_meter *m)
{
	struct tsof_band band;

	if (!tsof_meter_apply(m, c->version, c->now, c->x.pkt->len, &band))
		return true;
	if (band.type == TSOF_OFPMBT_DROP) {
		count(&c->t->c.meter_drops, 1);
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
	const struct table *t = &c->pl->tables[table_id];
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

static void run_tables(struct xctx *c, uint8_t table_id)
{
	for (;;) {
		tsof_xframe_refresh(&c->x);
		const struct tsof_flow *f = lookup(c, table_id);
		count(&c->t->lookups[table_id], 1);
		if (!f) {
			/* No table-miss flow: drop (5.4). */
			count(&c->t->c.table_misses, 1);
			return;
		}
		count(&c->t->matched[table_id], 1);
		struct tsof_flow *fw = (struct tsof_flow *)f;  /* counters are the datapath's to write */
		if (!(f->flags & TSOF_OFPFF_NO_PKT_COUNTS))
			atomic_fetch_add_explicit(&fw->n_packets, 1, memory_order_relaxed);
		if (!(f->flags & TSOF_OFPFF_NO_BYT_COUNTS))
			atomic_fetch_add_explicit(&fw->n_bytes, c->x.pkt->len, memory_order_relaxed);
		atomic_store_explicit(&fw->used, c->now, memory_order_relaxed);

		const struct tsof_insts *in = insts_of(tsof_vnode_at(
			atomic_load_explicit(&f->insts, memory_order_acquire), c->version));
		c->table_id = table_id;
		c->table_miss = f->table_miss;
		if (in->meter && !meter(c, in->meter))
			return;
		if (in->apply) {
			c->cookie = f->cookie;
			exec_list(c, in->apply);
			if (c->stop)
				return;
		}
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
	tsof_xframe_init(&c->x, pkt);
	count(&t->c.packets, 1);
}

void tsof_pipeline_process(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt, uint64_t now)
{
	struct xctx c;

	start(t, &c, pkt, now);
	const struct port_info *in = port_find(c.ports, pkt->in_port);
	uint32_t frag = atomic_load_explicit(&t->pl->config, memory_order_relaxed) >> 16;
	/* A port that is PORT_DOWN is not used by OpenFlow at all (7.2.1): nothing in either. */
	if ((in && (in->config & (TSOF_OFPPC_NO_RECV | TSOF_OFPPC_PORT_DOWN))) ||
	    ((c.x.key.layers & TSOF_L_FRAG) && frag == TSOF_OFPC_FRAG_DROP)) {
		count(&t->c.dropped, 1);
		return;
	}
	run_tables(&c, 0);
}

void tsof_pipeline_packet_out(struct tsof_pl_thread *t, struct tsof_pl_frame *pkt,
			      const struct tsof_actions *acts, uint64_t now)
{
	struct xctx c;

	start(t, &c, pkt, now);
	exec_list(&c, acts);
}
