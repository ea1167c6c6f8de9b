/*
 * meter.c: meter bands as token buckets (see meter.h for the units).
 */
#include "meter.h"
#include "ofp.h"

#include <stdlib.h>
#include <string.h>

#define METER_ERR(code) TSOF_ERR(TSOF_OFPET_METER_MOD_FAILED, TSOF_OFPMMFC_##code)

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

static void cfg_free_vnode(struct tsof_vnode *v)
{
	tsof_meter_cfg_free(TSOF_CONTAINER_OF(v, struct tsof_meter_cfg, v));
}

void tsof_meter_unref(struct tsof_meter *m)
{
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* As for groups: the last reference goes after every reader's. */
	tsof_vnode_free_chain(atomic_load_explicit(&m->cfg, memory_order_relaxed));
	free(m);
}

int tsof_meter_cfg_parse(uint16_t flags, const uint8_t *p, size_t len, uint64_t now,
			 struct tsof_meter_cfg **out)
{
	const uint16_t known = TSOF_OFPMF_KBPS | TSOF_OFPMF_PKTPS | TSOF_OFPMF_BURST | TSOF_OFPMF_STATS;
	uint32_t n = 0;

	if ((flags & ~known) || ((flags & TSOF_OFPMF_KBPS) && (flags & TSOF_OFPMF_PKTPS)))
		return METER_ERR(BAD_FLAGS);
	for (size_t at = 0; at < len; n++) {
		size_t blen = len - at >= 16 ? tsof_rd16(p + at + 2) : 0;
		if (blen < 16 || blen % 8 || blen > len - at)
			return METER_ERR(BAD_BAND);
		at += blen;
	}
	if (n > TSOF_METER_MAX_BANDS)
		return METER_ERR(OUT_OF_BANDS);
	struct tsof_meter_cfg *cfg = calloc(1, sizeof *cfg + n * sizeof cfg->b[0]);
	if (!cfg || (len && !(cfg->wire = malloc(len)))) {
		free(cfg);
		return -1;
	}
	cfg->v.free = cfg_free_vnode;
	cfg->flags = flags;
	cfg->last = now;
	if (len)
		memcpy(cfg->wire, p, len);
	cfg->wire_len = (uint32_t)len;
	bool pktps = flags & TSOF_OFPMF_PKTPS;
	int err = 0;
	for (size_t at = 0; at < len && !err; cfg->n_bands++) {
		const uint8_t *b = p + at;
		struct tsof_band *band = &cfg->b[cfg->n_bands];
		band->type = tsof_rd16(b);
		band->rate = tsof_rd32(b + 4);
		band->burst_size = tsof_rd32(b + 8);
		band->prec_level = b[12];
		at += tsof_rd16(b + 2);
		if (band->type != TSOF_OFPMBT_DROP && band->type != TSOF_OFPMBT_DSCP_REMARK)
			err = METER_ERR(BAD_BAND);
		else if (tsof_rd16(b + 2) != 16)
			err = METER_ERR(BAD_BAND);
		else if (!band->rate)
			err = METER_ERR(BAD_RATE);
		else if ((flags & TSOF_OFPMF_BURST) && !band->burst_size)
			err = METER_ERR(BAD_BURST);
		if (flags & TSOF_OFPMF_BURST) {
			band->capacity = band->burst_size * TOKENS_PER_UNIT;
		} else {
			uint64_t floor = pktps ? TOKENS_PER_UNIT : MIN_FRAME_BYTES * TOKENS_PER_BYTE;
			band->capacity = band->rate * DEFAULT_BURST_NS;
			if (band->capacity < floor)
				band->capacity = floor;
		}
		band->tokens = band->capacity;
	}
	if (err) {
		tsof_meter_cfg_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
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

/* A band of rate r gains r tokens per ns, up to its capacity. */
static void refill(struct tsof_meter_cfg *c, uint64_t now)
{
	if (now <= c->last)
		return;  /* a clock that stands (or steps back) adds nothing */
	uint64_t dt = now - c->last;
	c->last = now;
	for (uint32_t i = 0; i < c->n_bands; i++) {
		struct tsof_band *b = &c->b[i];
		uint64_t room = b->capacity - b->tokens;
		b->tokens = dt > room / b->rate ? b->capacity : b->tokens + dt * b->rate;
	}
}

bool tsof_meter_apply(struct tsof_meter *m, uint64_t version, uint64_t now, uint32_t bytes,
		      struct tsof_band *band)
{
	/* The buckets are the mutable part of an otherwise fixed configuration;
	 * the lock guards them. */
	struct tsof_meter_cfg *c = (struct tsof_meter_cfg *)tsof_meter_cfg_at(m, version);
	uint64_t cost = c->flags & TSOF_OFPMF_PKTPS ? TOKENS_PER_UNIT : bytes * TOKENS_PER_BYTE;
	int hit = -1;

	lock(m);
	refill(c, now);
	m->n_packets++;
	m->n_bytes += bytes;
	for (uint32_t i = 0; i < c->n_bands; i++) {
		struct tsof_band *b = &c->b[i];
		if (b->tokens >= cost)
			b->tokens -= cost;
		else if (hit < 0 || b->rate > c->b[hit].rate)
			hit = (int)i;
	}
	if (hit >= 0) {
		c->b[hit].n_packets++;
		c->b[hit].n_bytes += bytes;
		*band = c->b[hit];
	}
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
