/*
 * classifier.h: OpenFlow matches, and the per-table classifier that finds the
 * highest-priority rule matching a flow key.
 *
 * A match is a key and a mask of the same layout (flow.h): a field is matched
 * on the bits its mask sets, and the key is zero outside the mask. It is built
 * from the OXM TLVs of an ofp_match (OpenFlow 1.3.5 7.2.3) and checked as
 * 7.2.3.6-7.2.3.8 require: known fields, lengths, masks only where allowed, no
 * value bits outside the mask or the field's width, each field once, and every
 * prerequisite present. Each matched field also puts its layer bit
 * (tsof_flow_fields[].layer) in the key's and the mask's `layers`, so a rule
 * on tcp_dst matches only frames whose TCP header was parsed.
 *
 * The classifier is a tuple-space search (as in Open vSwitch): one subtable per
 * distinct mask, each a hash table of masked keys. A lookup visits the
 * subtables in decreasing order of the highest priority they hold and stops as
 * soon as no remaining subtable can hold a better rule, so its cost depends on
 * the number of masks, not of rules. Rules with the same match share one entry
 * (a "head"), listed by decreasing priority.
 *
 * Concurrency: one writer (the caller serialises), any number of lock-free
 * readers on datapath threads. Rules are versioned: a rule is visible at
 * version v when add_version <= v < remove_version. A writer adds rules and
 * marks removals at a version no reader uses yet, then publishes that version
 * (pipeline.c), so a reader sees all of a change or none of it. Structures a
 * reader may be walking are replaced with a release store and freed through
 * tsof_rcu_defer(); a removed rule is unlinked (tsof_cls_unlink) only once no
 * reader can use a version at which it is visible, and freed by its owner one
 * grace period after that.
 */
#ifndef TSOF_CLASSIFIER_H
#define TSOF_CLASSIFIER_H

#include "flow.h"
#include "rcu.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TSOF_KEY_WORDS (TSOF_FLOW_KEY_SIZE / 8)
#define TSOF_VERSION_NEVER UINT64_MAX

struct tsof_match {
	struct tsof_flow_key key;   /* zero wherever mask is zero */
	struct tsof_flow_key mask;
};

/* The OXM TLVs of an ofp_match (without its 4-byte header). Returns 0 or a
 * TSOF_ERR(OFPET_BAD_MATCH, code). */
int tsof_match_from_oxms(const uint8_t *oxms, size_t len, struct tsof_match *m);
/* A whole ofp_match: type OFPMT_OXM, length, OXMs, padding to 8 bytes.
 * *used gets the padded length. */
int tsof_match_from_wire(const uint8_t *p, size_t len, size_t *used, struct tsof_match *m);

/* An OXM value (f->len bytes) has no bits beyond the field's width (vlan_vid
 * 13 bits, ip_dscp 6...): the OFPBMC_BAD_VALUE and OFPBAC_BAD_SET_ARGUMENT
 * check. */
bool tsof_oxm_value_fits(const struct tsof_flow_field *f, const uint8_t *value);
/* The field with this OXM number (class OPENFLOW_BASIC), or NULL. */
const struct tsof_flow_field *tsof_field_by_oxm(unsigned oxm);

bool tsof_match_matches(const struct tsof_match *m, const struct tsof_flow_key *k);
bool tsof_match_equal(const struct tsof_match *a, const struct tsof_match *b);
/* Some key matches both (the CHECK_OVERLAP test, 6.4). */
bool tsof_match_overlaps(const struct tsof_match *a, const struct tsof_match *b);
/* m is at least as specific as filter and agrees with it: the non-strict
 * selection of modify, delete and flow stats (6.4). */
bool tsof_match_within(const struct tsof_match *m, const struct tsof_match *filter);
bool tsof_match_is_catchall(const struct tsof_match *m);

/* One 64-bit word of a key, read without type punning. */
static inline uint64_t tsof_key_word(const struct tsof_flow_key *k, int i)
{
	uint64_t w;
	memcpy(&w, (const uint8_t *)k + 8 * i, 8);
	return w;
}

uint64_t tsof_key_hash(const struct tsof_flow_key *k, uint64_t basis);

/* Embedded in the owner's rule (struct tsof_flow). priority and add_version
 * are fixed once inserted. */
struct tsof_cls_rule {
	struct tsof_cls_rule *_Atomic next;  /* same match, priority <= ours */
	struct cls_head *head;               /* writer side */
	uint64_t add_version;
	_Atomic uint64_t remove_version;
	int priority;
};

static inline bool tsof_cls_rule_visible(const struct tsof_cls_rule *r, uint64_t version)
{
	return r->add_version <= version &&
	       version < atomic_load_explicit(&r->remove_version, memory_order_relaxed);
}

struct cls_subtable;
struct cls_vec;

struct tsof_cls {
	struct cls_vec *_Atomic vec;      /* subtables by max priority, for readers */
	struct cls_subtable *subtables;   /* writer side list */
	struct tsof_rcu *rcu;
	unsigned n_rules;                 /* rules linked in, visible or not */
	unsigned n_subtables;
};

/* What a lookup cost; the caller zeroes it and it accumulates. */
struct tsof_cls_probes {
	uint64_t subtables;  /* subtables searched */
	uint64_t slots;      /* hash-table slots looked at */
	uint64_t compares;   /* masked keys compared */
};

int tsof_cls_init(struct tsof_cls *cls, struct tsof_rcu *rcu);
/* Frees the classifier's own structures at once (no reader may be left); the
 * rules belong to the caller. */
void tsof_cls_destroy(struct tsof_cls *cls);

/* Writer side. insert returns 0, or -1 when out of memory (nothing changed). */
int tsof_cls_insert(struct tsof_cls *cls, struct tsof_cls_rule *rule,
		    const struct tsof_match *match, int priority, uint64_t version);
void tsof_cls_remove(struct tsof_cls_rule *rule, uint64_t version);
/* Undoes tsof_cls_remove() at a version not yet published (a failed bundle):
 * the rule is visible again from its add version on. */
void tsof_cls_restore(struct tsof_cls_rule *rule);
void tsof_cls_unlink(struct tsof_cls *cls, struct tsof_cls_rule *rule);
/* The rule with exactly this match and priority visible at version. */
struct tsof_cls_rule *tsof_cls_find(const struct tsof_cls *cls, const struct tsof_match *match,
				    int priority, uint64_t version);
void tsof_cls_rule_match(const struct tsof_cls_rule *rule, struct tsof_match *match);

/* Reader side: the highest-priority rule visible at version that matches k
 * (of several with that priority, any one, as 5.3 allows), or NULL. */
const struct tsof_cls_rule *tsof_cls_lookup(const struct tsof_cls *cls, const struct tsof_flow_key *k,
					    uint64_t version, struct tsof_cls_probes *probes);

/*
 * The exact-match cache, one per datapath thread, in front of every table's
 * classifier. It is keyed by table and whole key and remembers the result of
 * a lookup at some version e. That result still holds at version v >= e if
 * the table has not changed since: e >= the table's last change (`changed`,
 * the version that made its latest change visible). So a flow change
 * invalidates the table's entries without touching the cache.
 */
#define TSOF_EMC_SIZE 8192  /* entries (as Open vSwitch's), a power of two; two candidate slots per key */

struct tsof_emc_entry {
	struct tsof_flow_key key;
	uint64_t hash;
	uint64_t version;
	const struct tsof_cls_rule *rule;  /* NULL: a cached miss */
	uint32_t table_id;
	uint32_t valid;
};

struct tsof_emc {
	struct tsof_emc_entry e[TSOF_EMC_SIZE];
};

/* 1 on a hit (*rule set, maybe NULL), 0 on a miss. */
int tsof_emc_lookup(const struct tsof_emc *emc, uint32_t table_id, const struct tsof_flow_key *k,
		    uint64_t hash, uint64_t version, uint64_t changed, const struct tsof_cls_rule **rule);
void tsof_emc_insert(struct tsof_emc *emc, uint32_t table_id, const struct tsof_flow_key *k,
		     uint64_t hash, uint64_t version, const struct tsof_cls_rule *rule);

#endif
