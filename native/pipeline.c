/*
 * pipeline.c: the pipeline object: its tables, groups, meters and ports as
 * one versioned state, the writer's lock, and the publication of versions
 * (see pipeline.h for the two sides and the atomicity they get, and
 * pipeline_impl.h for the files the rest lives in).
 *
 * Writer side. Every change is tagged with pl->pending, the version after the
 * published one: new rules get it as add_version, removed ones as
 * remove_version, new instructions and group or meter configurations as their
 * vnode version. publish() then makes it the version (one release store).
 * Deferred work follows: removed rules are unlinked from the classifier one
 * grace period after that (no thread can use an older version by then, so
 * their counters are final and removed flows are reported then) and freed
 * one grace period later; superseded values are trimmed one grace
 * period after. The rcu queue runs in tag order, so a trim always runs before
 * the free of the flow or group it belongs to.
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep */
#include "pipeline_impl.h"

#include <stdlib.h>
#include <time.h>

/* ---- freeing ---- */

void pl_flow_free(struct tsof_flow *f)
{
	tsof_vnode_free_chain(atomic_load_explicit(&f->insts, memory_order_relaxed));
	free(f);
}

static void flow_free_cb(struct tsof_rcu_cb *cb)
{
	pl_flow_free(TSOF_CONTAINER_OF(cb, struct tsof_flow, rcu));
}

/* The flow-removed message of f, now that its counters are final. */
static void report_removed(struct tsof_pipeline *pl, const struct tsof_flow *f)
{
	if (!pl->ops.flow_removed)
		return;
	struct tsof_flow_removed fr = {
		.table_id = f->table_id, .reason = f->removed_reason, .priority = f->priority,
		.idle_timeout = f->idle_timeout, .hard_timeout = f->hard_timeout, .cookie = f->cookie,
		.packets = pl_read(&f->n_packets), .bytes = pl_read(&f->n_bytes),
		.duration_ns = pl_since(f->removed_at, f->created), .match = f->match_wire, .match_len = f->match_len,
	};
	pl->ops.flow_removed(pl->ops.arg, &fr);
}

/* No thread uses a version at which f is visible any more, so none can
 * count on it: report it if it is to be, take it out of the classifier, and
 * free it once nobody can be standing on it. */
static void flow_unlink_cb(struct tsof_rcu_cb *cb)
{
	struct tsof_flow *f = TSOF_CONTAINER_OF(cb, struct tsof_flow, rcu);

	if (f->report) {
		report_removed(f->pl, f);
		f->pl->reports_pending--;
	}
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

void pl_vpush(struct tsof_pipeline *pl, struct tsof_vnode *_Atomic *head, struct tsof_vnode *v)
{
	struct tsof_vnode *old = atomic_load_explicit(head, memory_order_relaxed);

	v->version = pl->pending;
	atomic_store_explicit(&v->prev, old, memory_order_relaxed);
	atomic_store_explicit(head, v, memory_order_release);
	if (old)
		add_trim(pl, v);
	pl->dirty = true;
}

static void vnode_free_cb(struct tsof_rcu_cb *cb)
{
	struct tsof_vnode *v = TSOF_CONTAINER_OF(cb, struct tsof_vnode, rcu);

	v->free(v);
}

void pl_vpop(struct tsof_pipeline *pl, struct tsof_vnode *_Atomic *head)
{
	struct tsof_vnode *v = atomic_load_explicit(head, memory_order_relaxed);
	struct tsof_vnode *prev = atomic_load_explicit(&v->prev, memory_order_relaxed);

	atomic_store_explicit(head, prev, memory_order_release);
	/* Its push added it to the trims last, unless out of memory then. */
	if (prev && pl->n_trims && pl->trims[pl->n_trims - 1] == v)
		pl->n_trims--;
	/* A datapath thread may have read it as the newest and be walking past it. */
	tsof_rcu_defer(pl->rcu, &v->rcu, vnode_free_cb);
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

void pl_lock(struct tsof_pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
}

void pl_unlock(struct tsof_pipeline *pl)
{
	if (!pl->batch)
		publish(pl);
	pthread_mutex_unlock(&pl->lock);
}

void tsof_pipeline_begin(struct tsof_pipeline *pl)
{
	pl_lock(pl);
	pl->batch++;
	pthread_mutex_unlock(&pl->lock);
}

void tsof_pipeline_commit(struct tsof_pipeline *pl)
{
	pl_lock(pl);
	if (pl->batch)
		pl->batch--;
	pl_unlock(pl);
}

unsigned tsof_pipeline_reclaim(struct tsof_pipeline *pl)
{
	pl_lock(pl);
	unsigned n = tsof_rcu_poll(pl->rcu);
	pl_unlock(pl);
	return n;
}

void tsof_pipeline_settle(struct tsof_pipeline *pl)
{
	/* A grace period takes until each datapath thread ends its batch or
	 * blocks: tens of microseconds, so no condition variable to wait on. */
	static const struct timespec nap = { .tv_nsec = 20000 };

	for (;;) {
		pl_lock(pl);
		tsof_rcu_poll(pl->rcu);
		bool done = !pl->reports_pending || pl->batch;
		pl_unlock(pl);
		if (done)
			return;
		nanosleep(&nap, NULL);
	}
}

/* ---- create and free ---- */

struct tsof_pipeline *tsof_pipeline_new(const struct tsof_pipeline_ops *ops)
{
	struct tsof_pipeline *pl = calloc(1, sizeof *pl);

	if (!pl)
		return NULL;
	pl->ops = *ops;
	pl->pending = 1;
	pl->max_flows = TSOF_DEFAULT_MAX_FLOWS;
	atomic_init(&pl->config, 128);  /* no frag flags, OFP_DEFAULT_MISS_SEND_LEN */
	pthread_mutex_init(&pl->lock, NULL);
	struct pl_ports *ports = calloc(1, sizeof *ports);
	if (!(pl->rcu = tsof_rcu_create()) || !ports || !(pl->macs = tsof_mac_table_new()) ||
	    tsof_idmap_init(&pl->groups) || tsof_idmap_init(&pl->meters) || tsof_wheel_init(&pl->timeouts)) {
		free(ports);
		tsof_mac_table_free(pl->macs);
		tsof_rcu_destroy(pl->rcu);
		tsof_idmap_destroy(&pl->groups);
		tsof_idmap_destroy(&pl->meters);
		tsof_wheel_destroy(&pl->timeouts);
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
	pl_lock(pl);
	pl->batch = 0;
	publish(pl);
	pthread_mutex_unlock(&pl->lock);
	/* Pending callbacks unlink from the classifiers: run them first. */
	tsof_rcu_destroy(pl->rcu);
	for (int i = 0; i < TSOF_N_TABLES; i++) {
		struct pl_table *t = &pl->tables[i];
		while (t->head) {
			struct tsof_flow *f = t->head;
			t->head = f->next;
			pl_flow_free(f);
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
	free(pl->undo);
	tsof_wheel_destroy(&pl->timeouts);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
}

/* ---- configuration ---- */

void tsof_pipeline_set_config(struct tsof_pipeline *pl, uint16_t flags, uint16_t miss_send_len)
{
	atomic_store_explicit(&pl->config, (uint32_t)(flags & TSOF_OFPC_FRAG_MASK) << 16 | miss_send_len,
			      memory_order_relaxed);
}

void tsof_pipeline_set_max_flows(struct tsof_pipeline *pl, unsigned max_flows)
{
	pl_lock(pl);
	pl->max_flows = max_flows;
	pl_unlock(pl);
}

void tsof_pipeline_set_mac_aging(struct tsof_pipeline *pl, unsigned seconds)
{
	tsof_mac_table_set_aging(pl->macs, seconds);
}
