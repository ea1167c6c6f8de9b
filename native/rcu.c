/*
 * rcu.c: quiescent-state based deferred freeing (see rcu.h).
 *
 * gp counts defers. A callback is tagged with the value gp took when it was
 * queued; a reader records the gp it saw at its last quiescent point (or
 * UINT64_MAX while offline). A callback is ready when every registered
 * reader has recorded a value >= its tag: each reader then held no pointer at
 * some moment after the object was unlinked. Callbacks are queued in tag
 * order, so poll() runs a prefix of the queue.
 */
#include "rcu.h"

#include <pthread.h>
#include <stdlib.h>

#define OFFLINE UINT64_MAX

struct tsof_rcu_reader {
	_Alignas(64) _Atomic uint64_t seen;  /* own cache line: written per batch */
	struct tsof_rcu *rcu;
	int used;                            /* under rcu->lock */
};

struct tsof_rcu {
	struct tsof_rcu_reader readers[TSOF_RCU_MAX_READERS];
	_Atomic uint64_t gp;
	pthread_mutex_t lock;  /* reader registration, and poll's scan of it */
	struct tsof_rcu_cb *head, *tail;
	unsigned n_pending;
};

struct tsof_rcu *tsof_rcu_create(void)
{
	struct tsof_rcu *rcu = aligned_alloc(64, (sizeof *rcu + 63) / 64 * 64);

	if (!rcu)
		return NULL;
	for (int i = 0; i < TSOF_RCU_MAX_READERS; i++) {
		atomic_init(&rcu->readers[i].seen, OFFLINE);
		rcu->readers[i].rcu = rcu;
		rcu->readers[i].used = 0;
	}
	atomic_init(&rcu->gp, 0);
	pthread_mutex_init(&rcu->lock, NULL);
	rcu->head = rcu->tail = NULL;
	rcu->n_pending = 0;
	return rcu;
}

void tsof_rcu_destroy(struct tsof_rcu *rcu)
{
	if (!rcu)
		return;
	/* Callbacks may queue more: run until the queue stays empty. */
	while (rcu->head) {
		struct tsof_rcu_cb *c = rcu->head;
		rcu->head = c->next;
		if (!rcu->head)
			rcu->tail = NULL;
		rcu->n_pending--;
		c->fn(c);
	}
	pthread_mutex_destroy(&rcu->lock);
	free(rcu);
}

struct tsof_rcu_reader *tsof_rcu_register(struct tsof_rcu *rcu)
{
	struct tsof_rcu_reader *r = NULL;

	pthread_mutex_lock(&rcu->lock);
	for (int i = 0; i < TSOF_RCU_MAX_READERS && !r; i++)
		if (!rcu->readers[i].used) {
			r = &rcu->readers[i];
			r->used = 1;
			atomic_store(&r->seen, atomic_load(&rcu->gp));
		}
	pthread_mutex_unlock(&rcu->lock);
	atomic_thread_fence(memory_order_seq_cst);
	return r;
}

void tsof_rcu_unregister(struct tsof_rcu_reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->rcu->lock);
	atomic_store(&r->seen, OFFLINE);
	r->used = 0;
	pthread_mutex_unlock(&r->rcu->lock);
}

void tsof_rcu_quiesce(struct tsof_rcu_reader *r)
{
	atomic_store(&r->seen, atomic_load(&r->rcu->gp));
}

void tsof_rcu_offline(struct tsof_rcu_reader *r)
{
	atomic_store(&r->seen, OFFLINE);
}

void tsof_rcu_online(struct tsof_rcu_reader *r)
{
	atomic_store(&r->seen, atomic_load(&r->rcu->gp));
	/* Dekker with poll(): the writer must see us online before we read. */
	atomic_thread_fence(memory_order_seq_cst);
}

void tsof_rcu_defer(struct tsof_rcu *rcu, struct tsof_rcu_cb *c, void (*fn)(struct tsof_rcu_cb *))
{
	c->fn = fn;
	c->next = NULL;
	/* The unlink the caller did comes before this increment. */
	c->tag = atomic_fetch_add(&rcu->gp, 1) + 1;
	if (rcu->tail)
		rcu->tail->next = c;
	else
		rcu->head = c;
	rcu->tail = c;
	rcu->n_pending++;
}

static uint64_t min_seen(struct tsof_rcu *rcu)
{
	uint64_t min = OFFLINE;

	atomic_thread_fence(memory_order_seq_cst);
	pthread_mutex_lock(&rcu->lock);
	for (int i = 0; i < TSOF_RCU_MAX_READERS; i++)
		if (rcu->readers[i].used) {
			uint64_t s = atomic_load(&rcu->readers[i].seen);
			if (s < min)
				min = s;
		}
	pthread_mutex_unlock(&rcu->lock);
	return min;
}

unsigned tsof_rcu_poll(struct tsof_rcu *rcu)
{
	uint64_t min = min_seen(rcu);
	struct tsof_rcu_cb *ready = NULL, **end = &ready;
	unsigned n = 0;

	/* Detach the ready prefix first: the callbacks may defer again. */
	while (rcu->head && rcu->head->tag <= min) {
		struct tsof_rcu_cb *c = rcu->head;
		rcu->head = c->next;
		c->next = NULL;
		*end = c;
		end = &c->next;
		rcu->n_pending--;
	}
	if (!rcu->head)
		rcu->tail = NULL;
	while (ready) {
		struct tsof_rcu_cb *c = ready;
		ready = c->next;
		c->fn(c);
		n++;
	}
	return n;
}

unsigned tsof_rcu_pending(const struct tsof_rcu *rcu)
{
	return rcu->n_pending;
}

void tsof_vnode_free_chain(struct tsof_vnode *n)
{
	while (n) {
		struct tsof_vnode *prev = atomic_load_explicit(&n->prev, memory_order_relaxed);
		n->free(n);
		n = prev;
	}
}

void tsof_vnode_trim(struct tsof_rcu_cb *cb)
{
	struct tsof_vnode *n = TSOF_CONTAINER_OF(cb, struct tsof_vnode, rcu);
	struct tsof_vnode *old = atomic_exchange_explicit(&n->prev, NULL, memory_order_relaxed);

	tsof_vnode_free_chain(old);
}
