/*
 * rcu.h: deferred freeing for data the datapath threads read without locks.
 *
 * The control side (one writer at a time, under the pipeline's lock) never
 * frees or rewrites in place what a datapath thread may be reading. It
 * publishes a new object with a release store, unlinks the old one, and hands
 * the old one to tsof_rcu_defer(). A datapath thread calls tsof_rcu_quiesce()
 * between packet batches, at a point where it holds no pointer into shared
 * data. A deferred callback runs (in tsof_rcu_poll(), on the control side)
 * once every registered thread has passed such a point after the defer, so no
 * thread can still hold the old object. A thread that blocks (poll(2) on its
 * sockets) goes offline first and does not hold up anybody.
 *
 * This is the quiescent-state scheme of Open vSwitch's ovs-rcu and of
 * userspace RCU's QSBR flavour: readers pay nothing per access, one store per
 * batch.
 */
#ifndef TSOF_RCU_H
#define TSOF_RCU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TSOF_RCU_MAX_READERS 64

struct tsof_rcu;
struct tsof_rcu_reader;

/* Embedded in each object that is freed late, so that deferring never
 * allocates and cannot fail. */
struct tsof_rcu_cb {
	struct tsof_rcu_cb *next;
	void (*fn)(struct tsof_rcu_cb *);
	uint64_t tag;
};

#define TSOF_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct tsof_rcu *tsof_rcu_create(void);
/* Runs every pending callback (no reader may be registered any more). */
void tsof_rcu_destroy(struct tsof_rcu *rcu);

/* Datapath side. register returns NULL when TSOF_RCU_MAX_READERS are in use.
 * A new reader starts online. */
struct tsof_rcu_reader *tsof_rcu_register(struct tsof_rcu *rcu);
void tsof_rcu_unregister(struct tsof_rcu_reader *r);
void tsof_rcu_quiesce(struct tsof_rcu_reader *r);
void tsof_rcu_offline(struct tsof_rcu_reader *r);
void tsof_rcu_online(struct tsof_rcu_reader *r);

/* Control side, serialised by the caller. fn(cb) runs after a grace period;
 * it may defer more work, cb included. cb must not already be queued. */
void tsof_rcu_defer(struct tsof_rcu *rcu, struct tsof_rcu_cb *cb, void (*fn)(struct tsof_rcu_cb *));
/* Runs the callbacks whose grace period is over; returns how many ran. */
unsigned tsof_rcu_poll(struct tsof_rcu *rcu);
/* Callbacks waiting for a grace period. */
unsigned tsof_rcu_pending(const struct tsof_rcu *rcu);

/*
 * Versioned values (a flow's instructions, a group's buckets, a meter's
 * bands). The writer pushes a new value tagged with the version at which it
 * applies in front of the old one; a reader processing a packet at version v
 * takes the newest value tagged <= v, so a packet sees the old value or the
 * new one, never a mix, and changes published together are seen together.
 * Once the new version is out and a grace period has passed, nobody uses the
 * older values: tsof_vnode_trim() (run as an rcu callback on the new value)
 * frees them.
 */
struct tsof_vnode {
	struct tsof_rcu_cb rcu;
	uint64_t version;
	struct tsof_vnode *_Atomic prev;
	void (*free)(struct tsof_vnode *);   /* frees the object around the node */
};

static inline const struct tsof_vnode *tsof_vnode_at(const struct tsof_vnode *newest, uint64_t version)
{
	const struct tsof_vnode *n = newest, *prev;

	/* The oldest value left also serves an older reader (none should be
	 * left by then: trimming waits for them). */
	while (n->version > version && (prev = atomic_load_explicit(&n->prev, memory_order_acquire)))
		n = prev;
	return n;
}

/* Frees n and everything older. */
void tsof_vnode_free_chain(struct tsof_vnode *n);
/* An rcu callback: frees what is older than the node it runs on. */
void tsof_vnode_trim(struct tsof_rcu_cb *cb);

#endif
