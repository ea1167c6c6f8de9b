/*
 * meter.c: meter bands as token buckets (see meter.h for the units).
 */
#include "meter.h"
#include "ofp.h"

#include <stdlib.h>
#include <string.h>

#define TOKENS_PER_UNIT 1000000000ull            /* per kilobit, or per packet */
#define TOKENS_PER_BYTE (8 * TOKENS_PER_UNIT / 1000)
#define DEFAULT_BURST_NS 100000000ull            /* 100 ms at the rate */
#define MIN_FRAME_BYTES 1514ull

struct tsof_meter *tsof_meter_find(const struct tsof_idmap *meters, uint32_t id)
{
	struct tsof_idnode *n = tsof_idmap_find(meters, id);

	return n ? TSOF_CONTAINER_OF(n, struct tsof_meter, node) : NULL;
}

struct tsof_meter *tsof_meter_new(uint32_t id, uint64_t now)
{
	struct tsof_meter *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	m->node.id = id;
	m->created = now;
	atomic_flag_clear(&m->lock);
	atomic_init(&m->refs, 1);
	return m;
}

void tsof_meter_ref(struct tsof_meter *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void tsof_meter_cfg_free(struct tsof_meter_cfg *cfg)
{
	if (cfg) {
		free(cfg->wire);
		free(cfg);
	}
}

void tsof_meter_unref(struct tsof_meter *m)
{
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* As for groups: the last reference goes after every reader's. */
	tsof_vnode_free_chain(atomic_load_explicit(&m->cfg, memory_order_relaxed));
	free(m);
}

void tsof_meter_cfg_start(struct tsof_meter_cfg *cfg, uint64_t now)
{
	bool pktps = cfg->flags & TSOF_OFPMF_PKTPS;

	cfg->last = now;
	for (uint32_t i = 0; i < cfg->n_bands; i++) {
		struct tsof_band *band = &cfg->b[i];
		if (cfg->flags & TSOF_OFPMF_BURST) {
			band->capacity = band->burst_size * TOKENS_PER_UNIT;
		} else {
			uint64_t floor = pktps ? TOKENS_PER_UNIT : MIN_FRAME_BYTES * TOKENS_PER_BYTE;
			band->capacity = band->rate * DEFAULT_BURST_NS;
			if (band->capacity < floor)
				band->capacity = floor;
		}
		band->tokens = band->capacity;
	}
}

const struct tsof_meter_cfg *tsof_meter_cfg_at(const struct tsof_meter *m, uint64_t version)
{
	const struct tsof_vnode *n = atomic_load_explicit(&m->cfg, memory_order_acquire);

	return TSOF_CONTAINER_OF(tsof_vnode_at(n, version), const struct tsof_meter_cfg, v);
}

static void lock(struct tsof_meter *m)
{
	while (atomic_flag_test_and_set_explicit(&m->lock, memory_order_acquire))
		;
}

static void unlock(struct tsof_meter *m)
{
	atomic_flag_clear_explicit(&m->lock, memory_order_release);
}

/* Under the lock: brings each band's bucket to now (a band of rate r gains r
 * tokens per ns, up to its capacity) and takes a packet's cost from each band
 * that holds enough. Returns the exceeded band with the highest rate, or -1.
 * commit false only looks: the buckets stay as they were. */
static int exceeded(struct tsof_meter_cfg *c, uint64_t now, uint64_t cost, bool commit)
{
	/* A clock that stands (or steps back) adds nothing. */
	uint64_t dt = now > c->last ? now - c->last : 0;
	int hit = -1;

	if (commit && dt)
		c->last = now;
	for (uint32_t i = 0; i < c->n_bands; i++) {
		struct tsof_band *b = &c->b[i];
		uint64_t room = b->capacity - b->tokens;
		uint64_t tokens = dt > room / b->rate ? b->capacity : b->tokens + dt * b->rate;
		if (tokens >= cost)
			tokens -= cost;
		else if (hit < 0 || b->rate > c->b[hit].rate)
			hit = (int)i;
		if (commit)
			b->tokens = tokens;
	}
	return hit;
}

static uint64_t cost_of(const struct tsof_meter_cfg *c, uint32_t bytes)
{
	return c->flags & TSOF_OFPMF_PKTPS ? TOKENS_PER_UNIT : bytes * TOKENS_PER_BYTE;
}

bool tsof_meter_apply(struct tsof_meter *m, uint64_t version, uint64_t now, uint32_t bytes,
		      struct tsof_band *band)
{
	/* The buckets are the mutable part of an otherwise fixed configuration;
	 * the lock guards them. */
	struct tsof_meter_cfg *c = (struct tsof_meter_cfg *)tsof_meter_cfg_at(m, version);

	lock(m);
	int hit = exceeded(c, now, cost_of(c, bytes), true);
	m->n_packets++;
	m->n_bytes += bytes;
	if (hit >= 0) {
		c->b[hit].n_packets++;
		c->b[hit].n_bytes += bytes;
		*band = c->b[hit];
	}
	unlock(m);
	return hit >= 0;
}

bool tsof_meter_peek(struct tsof_meter *m, uint64_t version, uint64_t now, uint32_t bytes,
		     struct tsof_band *band)
{
	struct tsof_meter_cfg *c = (struct tsof_meter_cfg *)tsof_meter_cfg_at(m, version);

	lock(m);
	int hit = exceeded(c, now, cost_of(c, bytes), false);
	if (hit >= 0)
		*band = c->b[hit];
	unlock(m);
	return hit >= 0;
}

uint8_t tsof_dscp_remark(uint8_t dscp, uint8_t prec_level)
{
	unsigned cls = dscp >> 3, dp = dscp >> 1 & 3;

	/* AFxy is class x (1-4), drop precedence y (1-3), low bit 0. */
	if (cls < 1 || cls > 4 || dp < 1 || (dscp & 1))
		return dscp;
	dp = dp + prec_level > 3 ? 3 : dp + prec_level;
	return (uint8_t)(cls << 3 | dp << 1);
}

void tsof_meter_get_stats(struct tsof_meter *m, struct tsof_meter_stats *s)
{
	const struct tsof_meter_cfg *c = TSOF_CONTAINER_OF(atomic_load_explicit(&m->cfg, memory_order_acquire),
							   const struct tsof_meter_cfg, v);

	memset(s, 0, sizeof *s);
	lock(m);
	s->n_packets = m->n_packets;
	s->n_bytes = m->n_bytes;
	s->n_bands = c->n_bands;
	for (uint32_t i = 0; i < c->n_bands; i++) {
		s->band_packets[i] = c->b[i].n_packets;
		s->band_bytes[i] = c->b[i].n_bytes;
	}
	unlock(m);
}
