/*
 * meter.h: meters (OpenFlow 1.3.5 5.7, A.3.4.4).
 *
 * Each band is a token bucket filled at the band's rate. A packet takes from
 * every band whose bucket holds enough for it; the bands it finds short are
 * exceeded, and the one with the highest rate among them applies (5.7: "the
 * band with the highest configured rate that is lower than the current
 * measured rate"): drop, or dscp_remark, which raises the drop precedence of
 * an AF codepoint (RFC 2597) by prec_level, capped at 3.
 *
 * Units: time is a monotonic clock in nanoseconds passed in (so tests choose
 * it). A bucket counts 1e-6 bits for a kbps meter and 1e-9 packets for a
 * pktps one; then a band of rate r gains exactly r tokens per nanosecond in
 * both, and integer arithmetic loses nothing. Capacity: burst_size (kilobits
 * or packets) with OFPMF_BURST, else 100 ms at the rate but at least one
 * 1514-byte frame or one packet. A frame bigger than the capacity always
 * exceeds.
 *
 * As with groups, a meter's identity, counters and references live for its
 * whole life, and its bands form a versioned configuration that a modify
 * replaces (with fresh, full buckets). Bucket state changes per packet, so a
 * meter has a spinlock: uncontended with one datapath thread.
 */
#ifndef TSOF_METER_H
#define TSOF_METER_H

#include "idmap.h"
#include "rcu.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSOF_METER_MAX_BANDS 16

struct tsof_band {
	uint16_t type;        /* OFPMBT_DROP or OFPMBT_DSCP_REMARK */
	uint8_t prec_level;
	uint32_t rate;        /* kbps or pktps, as the meter's flags say */
	uint32_t burst_size;
	uint64_t capacity;    /* tokens */
	uint64_t tokens;      /* under the meter's lock */
	uint64_t n_packets, n_bytes;  /* under the meter's lock */
};

struct tsof_meter_cfg {
	struct tsof_vnode v;  /* version, and the configuration before */
	uint16_t flags;
	uint64_t last;        /* ns of the last refill, under the lock */
	uint32_t n_bands;
	uint8_t *wire;        /* the bands as received, for config replies */
	uint32_t wire_len;
	struct tsof_band b[];
};

struct tsof_meter {
	struct tsof_idnode node;      /* node.id: the meter id; in the table */
	struct tsof_rcu_cb rcu;       /* the table's reference, dropped late */
	struct tsof_vnode *_Atomic cfg;  /* the newest struct tsof_meter_cfg */
	atomic_flag lock;
	uint64_t n_packets, n_bytes;  /* under the lock */
	_Atomic unsigned refs;
	uint64_t created;
	unsigned n_flows;
};

struct tsof_meter *tsof_meter_find(const struct tsof_idmap *meters, uint32_t id);

struct tsof_meter *tsof_meter_new(uint32_t id, uint64_t now);
void tsof_meter_ref(struct tsof_meter *m);
void tsof_meter_unref(struct tsof_meter *m);

/* A configuration as decoded (mod_decode.c: flags, and each band's type,
 * rate, burst and prec_level) gets its buckets, full, at `now`. */
void tsof_meter_cfg_start(struct tsof_meter_cfg *cfg, uint64_t now);
void tsof_meter_cfg_free(struct tsof_meter_cfg *cfg);

const struct tsof_meter_cfg *tsof_meter_cfg_at(const struct tsof_meter *m, uint64_t version);

/* Meters one packet of `bytes` at `now` (ns). Returns the band that applies
 * (copied to *band, with its index), or false when none is exceeded. */
bool tsof_meter_apply(struct tsof_meter *m, uint64_t version, uint64_t now, uint32_t bytes,
		      struct tsof_band *band);
/* The same answer, but the buckets and counters are left as they were (a
 * packet trace). */
bool tsof_meter_peek(struct tsof_meter *m, uint64_t version, uint64_t now, uint32_t bytes,
		     struct tsof_band *band);

/* A DSCP with its AF drop precedence raised by prec_level (RFC 2597); other
 * codepoints are left alone. */
uint8_t tsof_dscp_remark(uint8_t dscp, uint8_t prec_level);

/* Counters copied under the lock. */
struct tsof_meter_stats {
	uint64_t n_packets, n_bytes;
	uint32_t n_bands;
	uint64_t band_packets[TSOF_METER_MAX_BANDS], band_bytes[TSOF_METER_MAX_BANDS];
};
void tsof_meter_get_stats(struct tsof_meter *m, struct tsof_meter_stats *s);

#endif
