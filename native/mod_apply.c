/*
 * mod_apply.c: decoded flow, group and meter mods applied to the tables under
 * the pipeline's lock (OpenFlow 1.3.5 6.4-6.6), and flows removed by their
 * timeouts.
 *
 * No wire bytes are read here: mod_decode.c decoded the message before the
 * lock. What is left is what only the tables can answer, in OpenFlow's order:
 * whether the group or meter being changed exists; whether each group and
 * meter the mod names exists (its refs), before an error decoding left for
 * after them; whether a group would loop; whether a flow overlaps, and the
 * table has room. Then the change, made at the pending version
 * (pipeline.c): each group and meter named gets a reference, and a frame
 * sees the change whole or not at all.
 *
 * Timeouts. A flow with an idle or hard timeout has a timer on the pipeline's
 * wheel (timer_wheel.h) at its earliest possible end: the hard deadline, or
 * its last use plus the idle timeout, whichever comes first. Expiry looks only
 * at timers that come due. An idle timer that comes due on a flow used since
 * it was armed is armed again from the newer use, the lazy re-scheduling of
 * Open vSwitch and the kernel's: the datapath only stores `used`, and the
 * wheel never hears of a packet. A flow removed for any reason leaves the
 * wheel; a replacing add arms its own timer; a modify changes no timeout
 * (6.4: its timeouts, like its duration, are left unchanged).
 *
 * Bundles. The flow mods of an OpenFlow bundle commit atomically: decoded and
 * applied in order under one hold of the lock (the bundle holds it throughout
 * anyway, and so only one decoded mod is in memory at a time), so they
 * publish as one version, while each change is written to an undo log; when one fails, the log undoes the
 * changes before it in reverse order, at the same unpublished version, so no
 * frame saw any of them. A flow the undo puts back is not removed and is
 * not reported; one it takes out was never there and is not reported either.
 *
 * Flow-removed reports. A removed flow is reported when it is unlinked, one
 * grace period after its removal is published (pipeline.c): until then a
 * datapath thread at an older version can still count packets on it, and
 * those belong in the report. flow_remove() notes why and when.
 */
#include "mod.h"
#include "pipeline_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- what a mod names ---- */

/* The first group or meter of refs that the tables lack gives its error;
 * with all there, the error decoding left for after them, if any. */
static int check_refs(const struct tsof_pipeline *pl, const struct tsof_refs *refs, int deferred)
{
	for (uint32_t i = 0; i < refs->n; i++) {
		const struct tsof_ref *r = &refs->r[i];
		if (r->meter ? !tsof_meter_find(&pl->meters, r->id) : !tsof_group_find(&pl->groups, r->id))
			return r->err;
	}
	return deferred;
}

/* A group check_refs() found, with a reference. */
static struct tsof_group *group_ref(struct tsof_pipeline *pl, uint32_t id)
{
	struct tsof_group *g = tsof_group_find(&pl->groups, id);

	tsof_group_ref(g);
	return g;
}

static void resolve_actions(struct tsof_pipeline *pl, struct tsof_actions *acts)
{
	for (uint32_t i = 0; acts && i < acts->n; i++)
		if (acts->a[i].type == TSOF_OFPAT_GROUP)
			acts->a[i].u.group.ptr = group_ref(pl, acts->a[i].u.group.id);
}

static void resolve_insts(struct tsof_pipeline *pl, struct tsof_insts *in)
{
	if (in->meter_id) {
		in->meter = tsof_meter_find(&pl->meters, in->meter_id);
		tsof_meter_ref(in->meter);
	}
	resolve_actions(pl, in->apply);
	resolve_actions(pl, in->write);
}

static void resolve_buckets(struct tsof_pipeline *pl, struct tsof_group_cfg *cfg)
{
	for (uint32_t i = 0; i < cfg->n_buckets; i++) {
		if (cfg->b[i].watch_group != TSOF_OFPG_ANY)
			cfg->b[i].watch = group_ref(pl, cfg->b[i].watch_group);
		resolve_actions(pl, cfg->b[i].actions);
	}
}

int tsof_pipeline_parse_actions(struct tsof_pipeline *pl, const uint8_t *p, size_t len,
				struct tsof_actions **out)
{
	struct tsof_refs refs = { 0 };
	const struct tsof_action_env env = { .packet_out = true, .refs = &refs };
	struct tsof_actions *acts = NULL;
	int err = tsof_actions_decode(p, len, &env, false, &acts);

	if (err != -1) {
		pl_lock(pl);
		if (!(err = check_refs(pl, &refs, err)))
			resolve_actions(pl, acts);
		pl_unlock(pl);
	}
	tsof_refs_free(&refs);
	if (err) {
		tsof_actions_free(acts);
		return err;
	}
	*out = acts;
	return 0;
}

/* ---- flows in their tables ---- */

/* One change a bundle made, to undo (the log is pl->undo). */
struct pl_undo {
	enum { UNDO_ADDED, UNDO_REMOVED, UNDO_MODIFIED } kind;
	struct tsof_flow *f;
	uint64_t packets, bytes;     /* UNDO_MODIFIED: counts a reset cleared */
};

/* Room in the undo log for n more changes, outside a bundle always: a change
 * is made only when it can be undone. */
static bool undo_room(struct tsof_pipeline *pl, size_t n)
{
	if (!pl->in_bundle || pl->n_undo + n <= pl->cap_undo)
		return true;
	size_t cap = pl->cap_undo ? pl->cap_undo * 2 : 1024;
	while (cap < pl->n_undo + n)
		cap *= 2;
	struct pl_undo *u = realloc(pl->undo, cap * sizeof *u);
	if (!u)
		return false;
	pl->undo = u;
	pl->cap_undo = cap;
	return true;
}

static void undo_log(struct tsof_pipeline *pl, struct pl_undo u)
{
	if (pl->in_bundle)
		pl->undo[pl->n_undo++] = u;
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
				lists[l]->a[i].u.group.ptr->n_flows += (unsigned)d;
}

static bool insts_output_to(const struct tsof_insts *in, uint32_t port, uint32_t group)
{
	return (tsof_actions_output_to(in->apply, port) || tsof_actions_output_to(in->write, port)) &&
	       (tsof_actions_group_to(in->apply, group) || tsof_actions_group_to(in->write, group));
}

bool pl_flow_selected(const struct tsof_flow *f, const struct pl_flow_sel *s)
{
	struct tsof_match fmatch;

	if ((f->cookie ^ s->cookie) & s->cookie_mask)
		return false;
	tsof_cls_rule_match(&f->rule, &fmatch);
	bool match = s->strict ? f->priority == s->priority && tsof_match_equal(&fmatch, s->match)
			       : tsof_match_within(&fmatch, s->match);
	return match && insts_output_to(pl_flow_insts(f), s->out_port, s->out_group);
}

static void table_link(struct pl_table *t, struct tsof_flow *f)
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

static void table_unlink(struct pl_table *t, struct tsof_flow *f)
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

/* Takes f out of its table at the pending version. */
static void flow_take_out(struct tsof_pipeline *pl, struct tsof_flow *f)
{
	struct pl_table *t = &pl->tables[f->table_id];

	tsof_wheel_cancel(&pl->timeouts, &f->timer);
	tsof_cls_remove(&f->rule, pl->pending);
	table_unlink(t, f);
	t->touched = true;
	pl->dirty = true;
	insts_count(pl_flow_insts(f), -1);
}

/* Takes f out, to be freed once the pending version is out; reason < 0: no
 * flow-removed message (a replaced flow). The message goes when f is
 * unlinked (pipeline.c), with the counts of threads still at an older
 * version. In a bundle, the caller made room in the undo log. */
static void flow_remove(struct tsof_pipeline *pl, struct tsof_flow *f, int reason, uint64_t now)
{
	flow_take_out(pl, f);
	if (pl->in_bundle)
		undo_log(pl, (struct pl_undo){ .kind = UNDO_REMOVED, .f = f });
	if (reason >= 0 && (f->flags & TSOF_OFPFF_SEND_FLOW_REM)) {
		f->report = true;
		f->removed_reason = (uint8_t)reason;
		f->removed_at = now;
		pl->reports_pending++;
	}
	f->gc_next = pl->removed;
	pl->removed = f;
}

/* The earliest f can end: its hard deadline or its idle one from its last
 * use, whichever is sooner. */
static uint64_t flow_deadline(const struct tsof_flow *f)
{
	uint64_t hard = f->hard_timeout ? f->created + f->hard_timeout * NS_PER_SEC : UINT64_MAX;
	uint64_t idle = f->idle_timeout ? pl_read(&f->used) + f->idle_timeout * NS_PER_SEC : UINT64_MAX;

	return hard < idle ? hard : idle;
}

static void flow_arm(struct tsof_pipeline *pl, struct tsof_flow *f)
{
	if (f->hard_timeout || f->idle_timeout)
		tsof_wheel_arm(&pl->timeouts, &f->timer, flow_deadline(f));
}

/* Up to PL_EXPIRE_BATCH timers looked at, under the lock: expires what is
 * due, re-arms what was used since. Adds to *removed; false when the wheel
 * has nothing more due by now. */
static bool expire_batch(struct tsof_pipeline *pl, uint64_t now, unsigned *removed)
{
	unsigned budget = PL_EXPIRE_BATCH;
	struct tsof_timer *t;

	pl_lock(pl);
	while ((t = tsof_wheel_next(&pl->timeouts, now, &budget))) {
		struct tsof_flow *f = TSOF_CONTAINER_OF(t, struct tsof_flow, timer);
		int reason;
		if (f->hard_timeout && pl_since(now, f->created) >= f->hard_timeout * NS_PER_SEC) {
			reason = TSOF_OFPRR_HARD_TIMEOUT;
		} else if (f->idle_timeout && pl_since(now, pl_read(&f->used)) >= f->idle_timeout * NS_PER_SEC) {
			reason = TSOF_OFPRR_IDLE_TIMEOUT;
		} else {
			flow_arm(pl, f);  /* used since it was armed */
			continue;
		}
		flow_remove(pl, f, reason, now);
		++*removed;
	}
	pl_unlock(pl);
	return budget == 0;
}

/* Everything due goes in this call, so a flow outlives its timeout by no more
 * than the caller's period; but in batches, each its own hold of the lock
 * and its own version, so a flow-mod or a stats request waits for one batch
 * at most, not for a million removals. */
unsigned tsof_pipeline_expire(struct tsof_pipeline *pl, uint64_t now)
{
	unsigned n = 0;

	while (expire_batch(pl, now, &n))
		;
	return n;
}

/* ---- flow-mods ---- */

/* Adds fm's flow, which takes fm->insts. */
static int flow_add(struct tsof_pipeline *pl, struct tsof_flow_mod *fm, uint64_t now)
{
	const struct tsof_match *m = &fm->match;
	struct pl_table *t = &pl->tables[fm->table_id];
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
	if (!undo_room(pl, 2))
		return -1;

	struct tsof_flow *f = calloc(1, sizeof *f + fm->match_len);
	if (!f)
		return -1;
	memcpy(f->match_wire, fm->match_wire, fm->match_len);
	f->match_len = (uint32_t)fm->match_len;
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
	atomic_init(&f->n_packets, old && !(fm->flags & TSOF_OFPFF_RESET_COUNTS) ? pl_read(&old->n_packets) : 0);
	atomic_init(&f->n_bytes, old && !(fm->flags & TSOF_OFPFF_RESET_COUNTS) ? pl_read(&old->n_bytes) : 0);
	fm->insts->v.version = pl->pending;
	atomic_init(&f->insts, &fm->insts->v);
	if (tsof_cls_insert(&t->cls, &f->rule, m, fm->priority, pl->pending)) {
		atomic_init(&f->insts, NULL);
		pl_flow_free(f);
		return -1;
	}
	undo_log(pl, (struct pl_undo){ .kind = UNDO_ADDED, .f = f });
	if (old)
		flow_remove(pl, old, -1, now);
	table_link(t, f);
	flow_arm(pl, f);
	insts_count(fm->insts, 1);
	fm->insts = NULL;
	t->touched = true;
	pl->dirty = true;
	return 0;
}

static void flow_modify(struct tsof_pipeline *pl, struct tsof_flow *f, struct tsof_insts *in, bool reset)
{
	struct pl_undo u = { .kind = UNDO_MODIFIED, .f = f };

	insts_count(pl_flow_insts(f), -1);
	pl_vpush(pl, &f->insts, &in->v);
	insts_count(in, 1);
	if (reset) {
		u.packets = atomic_exchange_explicit(&f->n_packets, 0, memory_order_relaxed);
		u.bytes = atomic_exchange_explicit(&f->n_bytes, 0, memory_order_relaxed);
	}
	undo_log(pl, u);
}

/* What a strict mod selects in t: at most the one flow with exactly its match
 * and priority (a table holds no two), found in the classifier rather than
 * by a walk of the table, if its cookie and outputs fit too. */
static struct tsof_flow *strict_flow(const struct tsof_pipeline *pl, struct pl_table *t, const struct pl_flow_sel *sel)
{
	struct tsof_cls_rule *r = tsof_cls_find(&t->cls, sel->match, sel->priority, pl->pending);
	struct tsof_flow *f = r ? TSOF_CONTAINER_OF(r, struct tsof_flow, rule) : NULL;

	return f && pl_flow_selected(f, sel) ? f : NULL;
}

/* Gives f instructions of its own (they chain per flow): the decoded ones
 * to the first flow, copies to the others. */
static int modify_one(struct tsof_pipeline *pl, struct tsof_flow_mod *fm, const struct tsof_insts *decoded,
		      struct tsof_flow *f)
{
	struct tsof_insts *in = fm->insts ? fm->insts : pl_insts_copy(decoded);

	if (!in || !undo_room(pl, 1)) {
		if (in != fm->insts)
			pl_insts_free(in);
		return -1;
	}
	fm->insts = NULL;
	flow_modify(pl, f, in, fm->flags & TSOF_OFPFF_RESET_COUNTS);
	return 0;
}

static int flow_mod_modify(struct tsof_pipeline *pl, struct tsof_flow_mod *fm)
{
	const struct pl_flow_sel sel = {
		.match = &fm->match, .cookie = fm->cookie, .cookie_mask = fm->cookie_mask,
		.priority = fm->priority, .strict = fm->command == TSOF_OFPFC_MODIFY_STRICT,
		.out_port = TSOF_OFPP_ANY, .out_group = TSOF_OFPG_ANY,
	};
	const struct tsof_insts *decoded = fm->insts;
	struct pl_table *t = &pl->tables[fm->table_id];

	/* No flow selected: nothing happens (6.4, OpenFlow 1.3). */
	if (sel.strict) {
		struct tsof_flow *f = strict_flow(pl, t, &sel);
		return f ? modify_one(pl, fm, decoded, f) : 0;
	}
	for (struct tsof_flow *f = t->head; f; f = f->next)
		if (pl_flow_selected(f, &sel) && modify_one(pl, fm, decoded, f))
			return -1;
	return 0;
}

static int delete_one(struct tsof_pipeline *pl, struct tsof_flow *f, uint64_t now)
{
	if (!undo_room(pl, 1))
		return -1;
	flow_remove(pl, f, TSOF_OFPRR_DELETE, now);
	return 0;
}

static int flow_mod_delete(struct tsof_pipeline *pl, const struct tsof_flow_mod *fm, uint64_t now)
{
	const struct pl_flow_sel sel = {
		.match = &fm->match, .cookie = fm->cookie, .cookie_mask = fm->cookie_mask,
		.priority = fm->priority, .strict = fm->command == TSOF_OFPFC_DELETE_STRICT,
		.out_port = fm->out_port, .out_group = fm->out_group,
	};
	int first = fm->table_id == TSOF_OFPTT_ALL ? 0 : fm->table_id;
	int last = fm->table_id == TSOF_OFPTT_ALL ? TSOF_N_TABLES - 1 : fm->table_id;

	for (int i = first; i <= last; i++) {
		struct pl_table *t = &pl->tables[i];
		if (sel.strict) {
			struct tsof_flow *f = strict_flow(pl, t, &sel);
			if (f && delete_one(pl, f, now))
				return -1;
			continue;
		}
		for (struct tsof_flow *f = t->head, *next; f; f = next) {
			next = f->next;
			if (pl_flow_selected(f, &sel) && delete_one(pl, f, now))
				return -1;
		}
	}
	return 0;
}

static int flow_mod_locked(struct tsof_pipeline *pl, struct tsof_flow_mod *fm, uint64_t now)
{
	int err;

	if (fm->command == TSOF_OFPFC_DELETE || fm->command == TSOF_OFPFC_DELETE_STRICT)
		return flow_mod_delete(pl, fm, now);
	if ((err = check_refs(pl, &fm->refs, fm->err)))
		return err;
	resolve_insts(pl, fm->insts);
	return fm->command == TSOF_OFPFC_ADD ? flow_add(pl, fm, now) : flow_mod_modify(pl, fm);
}

int tsof_pipeline_flow_mod(struct tsof_pipeline *pl, struct tsof_flow_mod *fm, uint64_t now)
{
	pl_lock(pl);
	int err = flow_mod_locked(pl, fm, now);
	pl_insts_free(fm->insts);  /* no flow took them */
	pl_unlock(pl);
	tsof_refs_free(&fm->refs);
	return err;
}

/* ---- bundles ---- */

/* Puts back a flow a bundle removed. The log is undone newest first, and
 * nothing but removals pushes on pl->removed meanwhile, so f is its head. */
static void flow_put_back(struct tsof_pipeline *pl, struct tsof_flow *f)
{
	struct pl_table *t = &pl->tables[f->table_id];

	pl->removed = f->gc_next;
	if (f->report) {
		f->report = false;
		pl->reports_pending--;
	}
	tsof_cls_restore(&f->rule);
	table_link(t, f);
	t->touched = true;
	insts_count(pl_flow_insts(f), 1);
	flow_arm(pl, f);
}

static void undo_all(struct tsof_pipeline *pl)
{
	struct tsof_flow *dropped = NULL, *last = NULL;

	for (size_t i = pl->n_undo; i-- > 0;) {
		const struct pl_undo *u = &pl->undo[i];
		struct tsof_flow *f = u->f;
		switch (u->kind) {
		case UNDO_ADDED:
			/* Kept aside until the end, so that pl->removed's head stays
			 * the next flow to put back. */
			flow_take_out(pl, f);
			f->gc_next = dropped;
			dropped = f;
			last = last ? last : f;
			break;
		case UNDO_REMOVED:
			flow_put_back(pl, f);
			break;
		case UNDO_MODIFIED:
			insts_count(pl_flow_insts(f), -1);
			pl_vpop(pl, &f->insts);
			insts_count(pl_flow_insts(f), 1);
			/* Frames counted since the reset stay counted. */
			atomic_fetch_add_explicit(&f->n_packets, u->packets, memory_order_relaxed);
			atomic_fetch_add_explicit(&f->n_bytes, u->bytes, memory_order_relaxed);
			break;
		}
	}
	if (last) {
		last->gc_next = pl->removed;
		pl->removed = dropped;
	}
}

int tsof_pipeline_bundle_commit(struct tsof_pipeline *pl, const uint8_t *msgs, size_t len, uint64_t now,
				size_t *failed)
{
	size_t i = 0, off = 0;
	int err = 0;

	pl_lock(pl);
	pl->in_bundle = true;
	pl->n_undo = 0;
	while (off < len) {
		struct tsof_flow_mod fm;
		size_t mlen = len - off >= 8 ? tsof_rd16(msgs + off + 2) : 0;
		if (mlen < 8 || mlen > len - off) {
			err = BAD_LEN;
			break;
		}
		if ((err = tsof_flow_mod_decode(msgs + off, mlen, &fm)))
			break;
		/* No buffers: a flow in with its packet unknown is no answer a
		 * bundle can give and keep (pipeline.h). */
		err = fm.buffer_id != TSOF_OFP_NO_BUFFER ? TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BUFFER_UNKNOWN)
							: flow_mod_locked(pl, &fm, now);
		tsof_flow_mod_discard(&fm);
		if (err)
			break;
		off += mlen;
		i++;
	}
	pl->in_bundle = false;
	if (err) {
		*failed = i;
		undo_all(pl);
	}
	pl->n_undo = 0;
	pl_unlock(pl);
	return err;
}

/* ---- group-mods ---- */

static bool flow_uses_group(const struct tsof_flow *f, uint32_t id)
{
	const struct tsof_insts *in = pl_flow_insts(f);

	return tsof_actions_group_to(in->apply, id) || tsof_actions_group_to(in->write, id);
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

static int group_mod_delete(struct tsof_pipeline *pl, struct tsof_group *g, uint32_t group_id, uint64_t now)
{
	if (group_id == TSOF_OFPG_ALL) {
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
			if (o != g && tsof_group_cfg_refers(pl_group_cfg(o), g->node.id))
				return GROUP_ERR(CHAINED_GROUP);
		}
	group_delete(pl, g, now);
	return 0;
}

/* Delete, or add or modify (decoding answered any other command), which
 * install gm->cfg. */
static int group_mod_locked(struct tsof_pipeline *pl, struct tsof_group_mod *gm, uint64_t now)
{
	struct tsof_group *g = tsof_group_find(&pl->groups, gm->group_id);
	int err;

	if (gm->command == TSOF_OFPGC_DELETE)
		return group_mod_delete(pl, g, gm->group_id, now);
	if (gm->command == TSOF_OFPGC_ADD ? g != NULL : g == NULL)
		return gm->command == TSOF_OFPGC_ADD ? GROUP_ERR(GROUP_EXISTS) : GROUP_ERR(UNKNOWN_GROUP);
	if ((err = check_refs(pl, &gm->refs, gm->err)))
		return err;
	resolve_buckets(pl, gm->cfg);
	if (g && tsof_group_cfg_loops(gm->group_id, gm->cfg))
		return GROUP_ERR(LOOP);
	if (!g) {
		if (!(g = tsof_group_new(gm->group_id, now)) || tsof_idmap_insert(&pl->groups, &g->node)) {
			free(g);
			return -1;
		}
	}
	pl_vpush(pl, &g->cfg, &gm->cfg->v);
	gm->cfg = NULL;
	return 0;
}

int tsof_pipeline_group_mod(struct tsof_pipeline *pl, struct tsof_group_mod *gm, uint64_t now)
{
	pl_lock(pl);
	int err = group_mod_locked(pl, gm, now);
	tsof_group_cfg_free(gm->cfg);  /* not installed */
	pl_unlock(pl);
	tsof_refs_free(&gm->refs);
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
			if (pl_flow_insts(f)->meter == m)
				flow_remove(pl, f, TSOF_OFPRR_DELETE, now);
		}
	tsof_idmap_remove(&pl->meters, &m->node);
	m->node.next = pl->dead_meters;
	pl->dead_meters = &m->node;
	pl->dirty = true;
}

static int meter_mod_locked(struct tsof_pipeline *pl, struct tsof_meter_mod *mm, uint64_t now)
{
	struct tsof_meter *m = tsof_meter_find(&pl->meters, mm->meter_id);

	if (mm->command == TSOF_OFPMC_DELETE) {
		if (mm->meter_id == TSOF_OFPM_ALL) {
			struct tsof_idnode *n;
			while ((n = tsof_idmap_first(&pl->meters)))
				meter_delete(pl, TSOF_CONTAINER_OF(n, struct tsof_meter, node), now);
		} else if (m) {
			meter_delete(pl, m, now);
		}
		return 0;
	}
	/* Add or modify (decoding answered any other command). */
	if (mm->command == TSOF_OFPMC_ADD ? m != NULL : m == NULL)
		return mm->command == TSOF_OFPMC_ADD ? METER_ERR(METER_EXISTS) : METER_ERR(UNKNOWN_METER);
	if (mm->err)
		return mm->err;
	if (!m) {
		if (!(m = tsof_meter_new(mm->meter_id, now)) || tsof_idmap_insert(&pl->meters, &m->node)) {
			free(m);
			return -1;
		}
	}
	tsof_meter_cfg_start(mm->cfg, now);
	pl_vpush(pl, &m->cfg, &mm->cfg->v);
	mm->cfg = NULL;
	return 0;
}

int tsof_pipeline_meter_mod(struct tsof_pipeline *pl, struct tsof_meter_mod *mm, uint64_t now)
{
	pl_lock(pl);
	int err = meter_mod_locked(pl, mm, now);
	tsof_meter_cfg_free(mm->cfg);  /* not installed */
	pl_unlock(pl);
	return err;
}
