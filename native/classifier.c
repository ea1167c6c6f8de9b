/*
 * classifier.c: matches from OXM, the tuple-space classifier and the
 * exact-match cache (see classifier.h for the design and the concurrency
 * rules).
 *
 * Reader-visible structures and who may change them:
 * - cls->vec: an immutable array of (max priority, subtable), replaced whole.
 * - subtable->map: an open-addressing table of heads. The writer fills an
 *   empty or tombstone slot (hash first, then the head with release) and turns
 *   a removed head's slot into a tombstone; it rebuilds the whole table into a
 *   new one (and replaces the pointer) when it gets too full.
 * - head->rules and rule->next: a list sorted by decreasing priority; insertion
 *   and removal are single release stores, as in an RCU list.
 * Everything else (priority counts, the subtable list) is the writer's alone.
 */
#include "classifier.h"
#include "ofp.h"

#include <stdlib.h>

/* ---- matches ---- */

/* What 7.2.3.7 and 7.2.3.8 say of each OXM field, by OXM number. */
enum { PRE_NONE, PRE_VALUES, PRE_PRESENT, PRE_VLAN_TAG };

struct oxm_rule {
	uint8_t bits;      /* meaningful bits of the value (the width when all) */
	uint8_t maskable;
	uint8_t pre;       /* PRE_* */
	uint8_t pre_oxm;   /* the prerequisite field */
	uint16_t v[2];     /* PRE_VALUES: the values it may have (v[1] 0: one) */
};

#define ETH(a, b) PRE_VALUES, TSOF_OXM_ETH_TYPE, { a, b }
#define PROTO(p)  PRE_VALUES, TSOF_OXM_IP_PROTO, { p, 0 }

static const struct oxm_rule oxm_rules[TSOF_OXM_PBB_UCA + 1] = {
	[TSOF_OXM_IN_PORT]        = { 32, 0, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_IN_PHY_PORT]    = { 32, 0, PRE_PRESENT, TSOF_OXM_IN_PORT, { 0, 0 } },
	[TSOF_OXM_METADATA]       = { 64, 1, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_ETH_DST]        = { 48, 1, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_ETH_SRC]        = { 48, 1, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_ETH_TYPE]       = { 16, 0, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_VLAN_VID]       = { 13, 1, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_VLAN_PCP]       = { 3, 0, PRE_VLAN_TAG, TSOF_OXM_VLAN_VID, { 0, 0 } },
	[TSOF_OXM_IP_DSCP]        = { 6, 0, ETH(0x0800, 0x86dd) },
	[TSOF_OXM_IP_ECN]         = { 2, 0, ETH(0x0800, 0x86dd) },
	[TSOF_OXM_IP_PROTO]       = { 8, 0, ETH(0x0800, 0x86dd) },
	[TSOF_OXM_IPV4_SRC]       = { 32, 1, ETH(0x0800, 0) },
	[TSOF_OXM_IPV4_DST]       = { 32, 1, ETH(0x0800, 0) },
	[TSOF_OXM_TCP_SRC]        = { 16, 0, PROTO(6) },
	[TSOF_OXM_TCP_DST]        = { 16, 0, PROTO(6) },
	[TSOF_OXM_UDP_SRC]        = { 16, 0, PROTO(17) },
	[TSOF_OXM_UDP_DST]        = { 16, 0, PROTO(17) },
	[TSOF_OXM_SCTP_SRC]       = { 16, 0, PROTO(132) },
	[TSOF_OXM_SCTP_DST]       = { 16, 0, PROTO(132) },
	[TSOF_OXM_ICMPV4_TYPE]    = { 8, 0, PROTO(1) },
	[TSOF_OXM_ICMPV4_CODE]    = { 8, 0, PROTO(1) },
	[TSOF_OXM_ARP_OP]         = { 16, 0, ETH(0x0806, 0) },
	[TSOF_OXM_ARP_SPA]        = { 32, 1, ETH(0x0806, 0) },
	[TSOF_OXM_ARP_TPA]        = { 32, 1, ETH(0x0806, 0) },
	[TSOF_OXM_ARP_SHA]        = { 48, 1, ETH(0x0806, 0) },
	[TSOF_OXM_ARP_THA]        = { 48, 1, ETH(0x0806, 0) },
	[TSOF_OXM_IPV6_SRC]       = { 128, 1, ETH(0x86dd, 0) },
	[TSOF_OXM_IPV6_DST]       = { 128, 1, ETH(0x86dd, 0) },
	[TSOF_OXM_IPV6_FLABEL]    = { 20, 1, ETH(0x86dd, 0) },
	[TSOF_OXM_ICMPV6_TYPE]    = { 8, 0, PROTO(58) },
	[TSOF_OXM_ICMPV6_CODE]    = { 8, 0, PROTO(58) },
	[TSOF_OXM_IPV6_ND_TARGET] = { 128, 0, PRE_VALUES, TSOF_OXM_ICMPV6_TYPE, { 135, 136 } },
	[TSOF_OXM_IPV6_ND_SLL]    = { 48, 0, PRE_VALUES, TSOF_OXM_ICMPV6_TYPE, { 135, 0 } },
	[TSOF_OXM_IPV6_ND_TLL]    = { 48, 0, PRE_VALUES, TSOF_OXM_ICMPV6_TYPE, { 136, 0 } },
	[TSOF_OXM_MPLS_LABEL]     = { 20, 0, ETH(0x8847, 0x8848) },
	[TSOF_OXM_MPLS_TC]        = { 3, 0, ETH(0x8847, 0x8848) },
	[TSOF_OXM_MPLS_BOS]       = { 1, 0, ETH(0x8847, 0x8848) },
	[TSOF_OXM_PBB_ISID]       = { 24, 1, ETH(0x88e7, 0) },
	[TSOF_OXM_TUNNEL_ID]      = { 64, 1, PRE_NONE, 0, { 0, 0 } },
	[TSOF_OXM_IPV6_EXTHDR]    = { 9, 1, ETH(0x86dd, 0) },
	[TSOF_OXM_PBB_UCA]        = { 1, 0, ETH(0x88e7, 0) },
};

const struct tsof_flow_field *tsof_field_by_oxm(unsigned oxm)
{
	/* The table is in OXM order without 40, which OpenFlow 1.3 leaves unassigned. */
	unsigned i = oxm < 40 ? oxm : oxm - 1;

	return oxm != 40 && i < TSOF_N_FIELDS ? &tsof_flow_fields[i] : NULL;
}

/* A field's value as a number (fields of up to 8 bytes). */
static uint64_t field_value(const struct tsof_flow_key *k, const struct tsof_flow_field *f)
{
	const uint8_t *p = (const uint8_t *)k + f->ofs;
	uint64_t v = 0;

	for (int i = 0; i < f->len && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Bits set beyond the field's meaningful width (the value is big-endian). */
static bool beyond_width(const uint8_t *v, unsigned len, unsigned bits)
{
	unsigned extra = len * 8 - bits;

	for (unsigned i = 0; i < len && extra; i++) {
		unsigned n = extra >= 8 ? 8 : extra;
		if (v[i] & (uint8_t)(0xff00 >> n))
			return true;
		extra -= n;
	}
	return false;
}

bool tsof_oxm_value_fits(const struct tsof_flow_field *f, const uint8_t *value)
{
	return f->oxm <= TSOF_OXM_PBB_UCA && !beyond_width(value, f->len, oxm_rules[f->oxm].bits);
}

#define BAD_MATCH(code) TSOF_ERR(TSOF_OFPET_BAD_MATCH, TSOF_OFPBMC_##code)

static int check_prereqs(const struct tsof_match *m, uint64_t present)
{
	for (uint64_t left = present; left; left &= left - 1) {
		const struct oxm_rule *r = &oxm_rules[__builtin_ctzll(left)];
		if (r->pre == PRE_NONE)
			continue;
		if (!(present >> r->pre_oxm & 1))
			return BAD_MATCH(BAD_PREREQ);
		const struct tsof_flow_field *dep = tsof_field_by_oxm(r->pre_oxm);
		uint64_t v = field_value(&m->key, dep), mask = field_value(&m->mask, dep);
		if (r->pre == PRE_VLAN_TAG) {
			/* "VLAN_VID != NONE": the tag-present bit in value and mask */
			if (!(v & mask & TSOF_OFPVID_PRESENT))
				return BAD_MATCH(BAD_PREREQ);
		} else if (r->pre == PRE_VALUES) {
			uint64_t full = dep->len >= 8 ? UINT64_MAX : (1ull << dep->len * 8) - 1;
			if (mask != full || (v != r->v[0] && (!r->v[1] || v != r->v[1])))
				return BAD_MATCH(BAD_PREREQ);
		}
	}
	return 0;
}

int tsof_match_from_oxms(const uint8_t *p, size_t len, struct tsof_match *m)
{
	uint64_t present = 0;

	memset(m, 0, sizeof *m);
	while (len) {
		if (len < 4)
			return BAD_MATCH(BAD_LEN);
		uint16_t cls = tsof_rd16(p);
		unsigned oxm = p[2] >> 1, has_mask = p[2] & 1, plen = p[3];
		if (plen > len - 4)
			return BAD_MATCH(BAD_LEN);
		const struct tsof_flow_field *f = cls == 0x8000 && oxm <= TSOF_OXM_PBB_UCA ? tsof_field_by_oxm(oxm) : NULL;
		if (!f)
			return BAD_MATCH(BAD_FIELD);
		const struct oxm_rule *r = &oxm_rules[oxm];
		if (plen != (has_mask ? 2u : 1u) * f->len)
			return BAD_MATCH(BAD_LEN);
		if (present >> oxm & 1)
			return BAD_MATCH(DUP_FIELD);
		if (has_mask && !r->maskable)
			return BAD_MATCH(BAD_MASK);
		const uint8_t *val = p + 4, *msk = has_mask ? p + 4 + f->len : NULL;
		if (!tsof_oxm_value_fits(f, val))
			return BAD_MATCH(BAD_VALUE);
		uint8_t *kv = (uint8_t *)&m->key + f->ofs, *km = (uint8_t *)&m->mask + f->ofs;
		for (unsigned i = 0; i < f->len; i++) {
			uint8_t mk = msk ? msk[i] : 0xff;
			if (val[i] & ~mk)
				return BAD_MATCH(BAD_WILDCARDS);
			kv[i] = val[i];
			km[i] = mk;
		}
		m->key.layers |= f->layer;
		m->mask.layers |= f->layer;
		present |= 1ull << oxm;
		p += 4 + plen;
		len -= 4 + plen;
	}
	return check_prereqs(m, present);
}

int tsof_match_from_wire(const uint8_t *p, size_t len, size_t *used, struct tsof_match *m)
{
	if (len < 4)
		return BAD_MATCH(BAD_LEN);
	if (tsof_rd16(p) != 1)  /* OFPMT_OXM; OFPMT_STANDARD is OpenFlow 1.1 */
		return BAD_MATCH(BAD_TYPE);
	size_t mlen = tsof_rd16(p + 2), padded = (mlen + 7) & ~(size_t)7;
	if (mlen < 4 || padded > len)
		return BAD_MATCH(BAD_LEN);
	*used = padded;
	return tsof_match_from_oxms(p + 4, mlen - 4, m);
}

bool tsof_match_matches(const struct tsof_match *m, const struct tsof_flow_key *k)
{
	for (int i = 0; i < TSOF_KEY_WORDS; i++)
		if ((tsof_key_word(k, i) & tsof_key_word(&m->mask, i)) != tsof_key_word(&m->key, i))
			return false;
	return true;
}

bool tsof_match_equal(const struct tsof_match *a, const struct tsof_match *b)
{
	return !memcmp(a, b, sizeof *a);
}

bool tsof_match_overlaps(const struct tsof_match *a, const struct tsof_match *b)
{
	for (int i = 0; i < TSOF_KEY_WORDS; i++) {
		uint64_t both = tsof_key_word(&a->mask, i) & tsof_key_word(&b->mask, i);
		if ((tsof_key_word(&a->key, i) ^ tsof_key_word(&b->key, i)) & both)
			return false;
	}
	return true;
}

bool tsof_match_within(const struct tsof_match *m, const struct tsof_match *filter)
{
	for (int i = 0; i < TSOF_KEY_WORDS; i++) {
		uint64_t fm = tsof_key_word(&filter->mask, i);
		if (fm & ~tsof_key_word(&m->mask, i))
			return false;
		if ((tsof_key_word(&m->key, i) ^ tsof_key_word(&filter->key, i)) & fm)
			return false;
	}
	return true;
}

bool tsof_match_is_catchall(const struct tsof_match *m)
{
	for (int i = 0; i < TSOF_KEY_WORDS; i++)
		if (tsof_key_word(&m->mask, i))
			return false;
	return true;
}

/* ---- hashing ---- */

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t hash_add(uint64_t h, uint64_t w)
{
	w *= 0x87c37b91114253d5ull;
	w = rotl(w, 31) * 0x4cf5ad432745937full;
	h ^= w;
	return rotl(h, 27) * 5 + 0x52dce729;
}

static inline uint64_t hash_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ h >> 33;
}

uint64_t tsof_key_hash(const struct tsof_flow_key *k, uint64_t basis)
{
	uint64_t h = basis;

	for (int i = 0; i < TSOF_KEY_WORDS; i++)
		h = hash_add(h, tsof_key_word(k, i));
	return hash_finish(h);
}

/* ---- classifier structures ---- */

/* Each structure readers see starts with its rcu callback, so that one
 * callback frees any of them (free_cb). */
struct cls_head {
	struct tsof_rcu_cb rcu;
	uint64_t hash;
	struct tsof_cls_rule *_Atomic rules;
	struct cls_subtable *st;
	uint64_t w[];             /* the masked key: st->n words, in st->idx order */
};

/* Slot states: NULL (never used: ends a probe), TOMB (was used), a head. */
#define TOMB ((struct cls_head *)&tomb_marker)
static const char tomb_marker;

struct cls_slot {
	_Atomic uint64_t hash;
	struct cls_head *_Atomic head;
};

struct cls_map {
	struct tsof_rcu_cb rcu;
	uint32_t cap;             /* a power of two */
	uint32_t used, tombs;     /* writer side */
	struct cls_slot s[];
};

struct prio_count {
	int priority;
	unsigned n;
};

struct cls_subtable {
	struct tsof_rcu_cb rcu;
	uint64_t mask[TSOF_KEY_WORDS];
	uint8_t idx[TSOF_KEY_WORDS];   /* the words the mask touches */
	uint8_t n;
	struct cls_map *_Atomic map;
	/* writer side */
	struct tsof_match match_mask;  /* the mask, as a key */
	struct prio_count *prios;      /* by decreasing priority */
	unsigned n_prios, cap_prios;
	unsigned n_rules;
	struct cls_subtable *next;
};

struct cls_vec {
	struct tsof_rcu_cb rcu;
	unsigned n;
	struct {
		int max_priority;
		struct cls_subtable *st;
	} e[];
};

static uint64_t subtable_hash(const struct cls_subtable *st, const struct tsof_flow_key *k)
{
	uint64_t h = 0;

	for (unsigned i = 0; i < st->n; i++)
		h = hash_add(h, tsof_key_word(k, st->idx[i]) & st->mask[st->idx[i]]);
	return hash_finish(h);
}

static struct cls_map *map_new(uint32_t cap)
{
	struct cls_map *m = calloc(1, sizeof *m + cap * sizeof m->s[0]);

	if (m)
		m->cap = cap;
	return m;
}

/* hash is h's (h->hash), passed so that a rebuild reads it from the old
 * slot instead of from every head, a cache miss each. */
static void map_put(struct cls_map *m, struct cls_head *h, uint64_t hash)
{
	uint32_t i = (uint32_t)hash & (m->cap - 1);
	struct cls_head *cur;

	while ((cur = atomic_load_explicit(&m->s[i].head, memory_order_relaxed)) && cur != TOMB)
		i = (i + 1) & (m->cap - 1);
	if (cur == TOMB)
		m->tombs--;
	atomic_store_explicit(&m->s[i].hash, hash, memory_order_relaxed);
	atomic_store_explicit(&m->s[i].head, h, memory_order_release);
	m->used++;
}

/* A new table holding the live heads, big enough for `want` of them at a
 * load of at most a quarter. */
static struct cls_map *map_rebuild(const struct cls_map *old, uint32_t want)
{
	uint32_t cap = 16;

	while (cap < want * 4)
		cap *= 2;
	struct cls_map *m = map_new(cap);
	if (!m)
		return NULL;
	for (uint32_t i = 0; old && i < old->cap; i++) {
		struct cls_head *h = atomic_load_explicit(&old->s[i].head, memory_order_relaxed);
		if (h && h != TOMB)
			map_put(m, h, atomic_load_explicit(&old->s[i].hash, memory_order_relaxed));
	}
	return m;
}

static bool head_is(const struct cls_head *h, const struct cls_subtable *st, const struct tsof_flow_key *k)
{
	for (unsigned i = 0; i < st->n; i++)
		if ((tsof_key_word(k, st->idx[i]) & st->mask[st->idx[i]]) != h->w[i])
			return false;
	return true;
}

static struct cls_head *map_find(const struct cls_map *m, const struct cls_subtable *st,
				 const struct tsof_flow_key *k, uint64_t hash, struct tsof_cls_probes *pr)
{
	uint32_t i = (uint32_t)hash & (m->cap - 1);

	for (;;) {
		struct cls_head *h = atomic_load_explicit(&m->s[i].head, memory_order_acquire);
		if (pr)
			pr->slots++;
		if (!h)
			return NULL;
		if (h != TOMB && atomic_load_explicit(&m->s[i].hash, memory_order_relaxed) == hash) {
			if (pr)
				pr->compares++;
			if (head_is(h, st, k))
				return h;
		}
		i = (i + 1) & (m->cap - 1);
	}
}

static void free_cb(struct tsof_rcu_cb *cb)
{
	free(cb);  /* the first member: the object itself */
}

/* Frees a head, map or vector once no reader can hold it. */
#define defer_free(cls, obj) tsof_rcu_defer((cls)->rcu, &(obj)->rcu, free_cb)

static int vec_cmp(const void *a, const void *b)
{
	int pa = *(const int *)a, pb = *(const int *)b;
	return (pa < pb) - (pa > pb);
}

static struct cls_vec *vec_alloc(unsigned n)
{
	return malloc(sizeof(struct cls_vec) + n * sizeof(((struct cls_vec *)0)->e[0]));
}

/* Publishes v (room for every subtable), filled with the subtables by
 * decreasing max priority, and frees the old vector after a grace period. */
static void publish_vec(struct tsof_cls *cls, struct cls_vec *v)
{
	v->n = 0;
	for (struct cls_subtable *st = cls->subtables; st; st = st->next) {
		v->e[v->n].max_priority = st->n_prios ? st->prios[0].priority : -1;
		v->e[v->n].st = st;
		v->n++;
	}
	qsort(v->e, v->n, sizeof v->e[0], vec_cmp);
	struct cls_vec *old = atomic_exchange_explicit(&cls->vec, v, memory_order_acq_rel);
	if (old)
		defer_free(cls, old);
}

int tsof_cls_init(struct tsof_cls *cls, struct tsof_rcu *rcu)
{
	memset(cls, 0, sizeof *cls);
	cls->rcu = rcu;
	struct cls_vec *v = calloc(1, sizeof *v);
	if (!v)
		return -1;
	atomic_init(&cls->vec, v);
	return 0;
}

static void subtable_free(struct cls_subtable *st)
{
	struct cls_map *m = atomic_load_explicit(&st->map, memory_order_relaxed);

	free(m);
	free(st->prios);
	free(st);
}

static void subtable_free_cb(struct tsof_rcu_cb *cb)
{
	subtable_free(TSOF_CONTAINER_OF(cb, struct cls_subtable, rcu));
}

void tsof_cls_destroy(struct tsof_cls *cls)
{
	struct cls_subtable *st = cls->subtables;

	while (st) {
		struct cls_subtable *next = st->next;
		struct cls_map *m = atomic_load_explicit(&st->map, memory_order_relaxed);
		for (uint32_t i = 0; i < m->cap; i++) {
			struct cls_head *h = atomic_load_explicit(&m->s[i].head, memory_order_relaxed);
			if (h && h != TOMB)
				free(h);
		}
		subtable_free(st);
		st = next;
	}
	free(atomic_load_explicit(&cls->vec, memory_order_relaxed));
	cls->subtables = NULL;
	cls->vec = NULL;
}

static struct cls_subtable *subtable_find(const struct tsof_cls *cls, const struct tsof_flow_key *mask)
{
	for (struct cls_subtable *st = cls->subtables; st; st = st->next)
		if (!memcmp(&st->match_mask.mask, mask, sizeof *mask))
			return st;
	return NULL;
}

static struct cls_subtable *subtable_new(const struct tsof_flow_key *mask)
{
	struct cls_subtable *st = calloc(1, sizeof *st);
	struct cls_map *m = map_new(16);

	if (!st || !m) {
		free(st);
		free(m);
		return NULL;
	}
	st->match_mask.mask = *mask;
	for (int i = 0; i < TSOF_KEY_WORDS; i++) {
		st->mask[i] = tsof_key_word(mask, i);
		if (st->mask[i])
			st->idx[st->n++] = (uint8_t)i;
	}
	atomic_init(&st->map, m);
	return st;
}

/* Counts one more (d = 1) or one fewer (d = -1) rule of this priority.
 * Returns 1 if the subtable's max priority changed, -1 when out of memory. */
static int count_priority(struct cls_subtable *st, int priority, int d)
{
	unsigned i = 0;
	int old_max = st->n_prios ? st->prios[0].priority : -1;

	while (i < st->n_prios && st->prios[i].priority > priority)
		i++;
	if (d > 0) {
		if (i == st->n_prios || st->prios[i].priority != priority) {
			if (st->n_prios == st->cap_prios) {
				unsigned cap = st->cap_prios ? st->cap_prios * 2 : 4;
				struct prio_count *p = realloc(st->prios, cap * sizeof *p);
				if (!p)
					return -1;
				st->prios = p;
				st->cap_prios = cap;
			}
			memmove(st->prios + i + 1, st->prios + i, (st->n_prios - i) * sizeof *st->prios);
			st->prios[i].priority = priority;
			st->prios[i].n = 0;
			st->n_prios++;
		}
		st->prios[i].n++;
	} else if (--st->prios[i].n == 0) {
		memmove(st->prios + i, st->prios + i + 1, (st->n_prios - i - 1) * sizeof *st->prios);
		st->n_prios--;
	}
	return (st->n_prios ? st->prios[0].priority : -1) != old_max;
}

int tsof_cls_insert(struct tsof_cls *cls, struct tsof_cls_rule *rule,
		    const struct tsof_match *match, int priority, uint64_t version)
{
	struct cls_subtable *st = subtable_find(cls, &match->mask);
	bool new_st = !st;
	struct cls_head *h = NULL;
	struct cls_map *map, *grown = NULL;
	struct cls_vec *vec = NULL;

	/* Everything that can fail comes first, so a failure changes nothing. */
	if (new_st && !(st = subtable_new(&match->mask)))
		return -1;
	uint64_t hash = subtable_hash(st, &match->key);
	map = atomic_load_explicit(&st->map, memory_order_relaxed);
	struct cls_head *found = map_find(map, st, &match->key, hash, NULL);
	if (!found) {
		if (!(h = calloc(1, sizeof *h + st->n * sizeof h->w[0])))
			goto nomem;
		h->hash = hash;
		h->st = st;
		for (unsigned i = 0; i < st->n; i++)
			h->w[i] = tsof_key_word(&match->key, st->idx[i]) & st->mask[st->idx[i]];
		/* Linear probing stays short below a load of 3/8. */
		if ((map->used + map->tombs + 1) * 8 > map->cap * 3 &&
		    !(grown = map_rebuild(map, map->used + 1)))
			goto nomem;
	}
	/* Readers skip subtables by their max priority: a new subtable, or a
	 * higher max, needs a new vector before the rule can be found. */
	bool need_vec = new_st || !st->n_prios || priority > st->prios[0].priority;
	if (need_vec && !(vec = vec_alloc(cls->n_subtables + 1)))
		goto nomem;
	if (count_priority(st, priority, 1) < 0)
		goto nomem;

	rule->head = found ? found : h;
	rule->priority = priority;
	rule->add_version = version;
	atomic_store_explicit(&rule->remove_version, TSOF_VERSION_NEVER, memory_order_relaxed);

	/* Before the rules of equal or lower priority. Readers choose by
	 * visibility, so the order among equal priorities is free. */
	struct tsof_cls_rule *_Atomic *link = &rule->head->rules, *cur;
	while ((cur = atomic_load_explicit(link, memory_order_relaxed)) && cur->priority > priority)
		link = &cur->next;
	atomic_store_explicit(&rule->next, cur, memory_order_relaxed);
	atomic_store_explicit(link, rule, memory_order_release);

	if (h) {
		if (grown) {
			map_put(grown, h, hash);
			atomic_store_explicit(&st->map, grown, memory_order_release);
			defer_free(cls, map);
		} else {
			map_put(map, h, hash);
		}
	}
	st->n_rules++;
	cls->n_rules++;
	if (new_st) {
		st->next = cls->subtables;
		cls->subtables = st;
		cls->n_subtables++;
	}
	if (vec)
		publish_vec(cls, vec);
	return 0;

nomem:
	free(h);
	free(grown);
	free(vec);
	if (new_st)
		subtable_free(st);
	return -1;
}

void tsof_cls_remove(struct tsof_cls_rule *rule, uint64_t version)
{
	atomic_store_explicit(&rule->remove_version, version, memory_order_relaxed);
}

void tsof_cls_restore(struct tsof_cls_rule *rule)
{
	atomic_store_explicit(&rule->remove_version, TSOF_VERSION_NEVER, memory_order_relaxed);
}

void tsof_cls_unlink(struct tsof_cls *cls, struct tsof_cls_rule *rule)
{
	struct cls_head *h = rule->head;
	struct cls_subtable *st = h->st;
	struct tsof_cls_rule *_Atomic *link = &h->rules, *cur;

	while ((cur = atomic_load_explicit(link, memory_order_relaxed)) != rule)
		link = &cur->next;
	/* rule->next stays as it is for readers standing on rule. */
	atomic_store_explicit(link, atomic_load_explicit(&rule->next, memory_order_relaxed),
			      memory_order_release);
	int changed = count_priority(st, rule->priority, -1);
	st->n_rules--;
	cls->n_rules--;

	if (!atomic_load_explicit(&h->rules, memory_order_relaxed)) {
		struct cls_map *m = atomic_load_explicit(&st->map, memory_order_relaxed);
		uint32_t i = (uint32_t)h->hash & (m->cap - 1);
		while (atomic_load_explicit(&m->s[i].head, memory_order_relaxed) != h)
			i = (i + 1) & (m->cap - 1);
		atomic_store_explicit(&m->s[i].head, TOMB, memory_order_release);
		m->used--;
		m->tombs++;
		defer_free(cls, h);
	}
	struct cls_vec *vec = NULL;
	if (!st->n_rules) {
		/* Gone from the new vector, nobody new can reach st. Out of
		 * memory, it stays listed, empty: slower, still right. */
		if ((vec = vec_alloc(cls->n_subtables)) != NULL) {
			struct cls_subtable **pp = &cls->subtables;
			while (*pp != st)
				pp = &(*pp)->next;
			*pp = st->next;
			cls->n_subtables--;
			publish_vec(cls, vec);
			tsof_rcu_defer(cls->rcu, &st->rcu, subtable_free_cb);
		}
		return;
	}
	/* A stale, higher max priority is only slower: skip it out of memory. */
	if (changed && (vec = vec_alloc(cls->n_subtables)) != NULL)
		publish_vec(cls, vec);
}

struct tsof_cls_rule *tsof_cls_find(const struct tsof_cls *cls, const struct tsof_match *match,
				    int priority, uint64_t version)
{
	const struct cls_subtable *st = subtable_find(cls, &match->mask);

	if (!st)
		return NULL;
	struct cls_head *h = map_find(atomic_load_explicit(&st->map, memory_order_relaxed), st,
				      &match->key, subtable_hash(st, &match->key), NULL);
	if (!h)
		return NULL;
	for (struct tsof_cls_rule *r = atomic_load_explicit(&h->rules, memory_order_relaxed); r;
	     r = atomic_load_explicit(&r->next, memory_order_relaxed))
		if (r->priority == priority && tsof_cls_rule_visible(r, version))
			return r;
	return NULL;
}

void tsof_cls_rule_match(const struct tsof_cls_rule *rule, struct tsof_match *match)
{
	const struct cls_head *h = rule->head;
	const struct cls_subtable *st = h->st;
	uint64_t w[TSOF_KEY_WORDS] = { 0 };

	for (unsigned i = 0; i < st->n; i++)
		w[st->idx[i]] = h->w[i];
	memcpy(&match->key, w, sizeof w);
	match->mask = st->match_mask.mask;
}

const struct tsof_cls_rule *tsof_cls_lookup(const struct tsof_cls *cls, const struct tsof_flow_key *k,
					    uint64_t version, struct tsof_cls_probes *pr)
{
	const struct cls_vec *v = atomic_load_explicit(&cls->vec, memory_order_acquire);
	const struct tsof_cls_rule *best = NULL;
	int best_prio = -1;

	for (unsigned i = 0; i < v->n; i++) {
		/* Sorted: nothing further on can beat what we have. */
		if (v->e[i].max_priority <= best_prio)
			break;
		const struct cls_subtable *st = v->e[i].st;
		if (pr)
			pr->subtables++;
		const struct cls_map *m = atomic_load_explicit(&st->map, memory_order_acquire);
		const struct cls_head *h = map_find(m, st, k, subtable_hash(st, k), pr);
		if (!h)
			continue;
		for (const struct tsof_cls_rule *r = atomic_load_explicit(&h->rules, memory_order_acquire);
		     r && r->priority > best_prio;
		     r = atomic_load_explicit(&r->next, memory_order_acquire))
			if (tsof_cls_rule_visible(r, version)) {
				best = r;
				best_prio = r->priority;
				break;
			}
	}
	return best;
}

/* ---- exact-match cache ---- */

static inline struct tsof_emc_entry *emc_slot(const struct tsof_emc *emc, uint64_t hash, int way)
{
	uint64_t i = way ? hash >> 32 : hash;
	return (struct tsof_emc_entry *)&emc->e[i & (TSOF_EMC_SIZE - 1)];
}

static inline bool emc_same(const struct tsof_emc_entry *e, uint32_t table_id,
			    const struct tsof_flow_key *k, uint64_t hash)
{
	return e->valid && e->hash == hash && e->table_id == table_id && !memcmp(&e->key, k, sizeof *k);
}

int tsof_emc_lookup(const struct tsof_emc *emc, uint32_t table_id, const struct tsof_flow_key *k,
		    uint64_t hash, uint64_t version, uint64_t changed, const struct tsof_cls_rule **rule)
{
	for (int way = 0; way < 2; way++) {
		const struct tsof_emc_entry *e = emc_slot(emc, hash, way);
		if (emc_same(e, table_id, k, hash)) {
			if (e->version < changed || e->version > version)
				return 0;
			*rule = e->rule;
			return 1;
		}
	}
	return 0;
}

void tsof_emc_insert(struct tsof_emc *emc, uint32_t table_id, const struct tsof_flow_key *k,
		     uint64_t hash, uint64_t version, const struct tsof_cls_rule *rule)
{
	struct tsof_emc_entry *a = emc_slot(emc, hash, 0), *b = emc_slot(emc, hash, 1), *e;

	/* Refresh our own entry; else take an empty slot, else the older one. */
	if (emc_same(a, table_id, k, hash) || !a->valid)
		e = a;
	else if (emc_same(b, table_id, k, hash) || !b->valid)
		e = b;
	else
		e = a->version <= b->version ? a : b;
	e->key = *k;
	e->hash = hash;
	e->version = version;
	e->rule = rule;
	e->table_id = table_id;
	e->valid = 1;
}
