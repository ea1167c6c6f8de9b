/*
 * port_table.c: the pipeline's port table: each port's OpenFlow config and
 * state, which outputs, FLOOD, ALL, NORMAL and fast-failover go by (walk.c).
 * (The ports themselves, with their rings and sockets, are the datapath's:
 * port.h.)
 *
 * The table is a vector sorted by port number, read by datapath threads
 * without a lock: a change copies it, publishes the copy with a release store
 * and frees the old one after a grace period. A frame reads the table once,
 * when it starts, so it sees the ports as they were before a change or after.
 */
#include "pipeline_impl.h"

#include <stdlib.h>

static void free_cb(struct tsof_rcu_cb *cb)
{
	free(cb);  /* the first member of a struct pl_ports */
}

/* Replaces the port table with a copy that has port_no set (keep) or gone. */
static int ports_update(struct tsof_pipeline *pl, uint32_t port_no, bool keep, uint32_t config, uint32_t state)
{
	const struct pl_ports *old = atomic_load_explicit(&pl->ports, memory_order_relaxed);
	struct pl_ports *v = malloc(sizeof *v + (old->n + 1) * sizeof v->p[0]);
	uint32_t j = 0;
	bool placed = false;

	if (!v)
		return -1;
	for (uint32_t i = 0; i < old->n; i++) {
		if (!placed && old->p[i].port_no >= port_no) {
			if (keep)
				v->p[j++] = (struct pl_port){ port_no, config, state };
			placed = true;
			if (old->p[i].port_no == port_no)
				continue;
		}
		v->p[j++] = old->p[i];
	}
	if (!placed && keep)
		v->p[j++] = (struct pl_port){ port_no, config, state };
	v->n = j;
	atomic_store_explicit(&pl->ports, v, memory_order_release);
	tsof_rcu_defer(pl->rcu, &((struct pl_ports *)old)->rcu, free_cb);
	return 0;
}

/* What was learned on a port that is down or gone no longer holds: the
 * hosts behind it may turn up elsewhere. */
int tsof_pipeline_port_set(struct tsof_pipeline *pl, uint32_t port_no, uint32_t config, uint32_t state)
{
	pl_lock(pl);
	int err = ports_update(pl, port_no, true, config, state);
	pl_unlock(pl);
	if ((config & TSOF_OFPPC_PORT_DOWN) || (state & TSOF_OFPPS_LINK_DOWN))
		tsof_mac_forget_port(pl->macs, port_no);
	return err;
}

void tsof_pipeline_port_del(struct tsof_pipeline *pl, uint32_t port_no)
{
	pl_lock(pl);
	(void)ports_update(pl, port_no, false, 0, 0);  /* out of memory: it stays */
	pl_unlock(pl);
	tsof_mac_forget_port(pl->macs, port_no);
}
