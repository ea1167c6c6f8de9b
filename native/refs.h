/*
 * refs.h: the groups and meters a decoded message names, in the order it
 * names them.
 *
 * Decoding a mod or a packet-out's actions needs no tables, so it runs
 * without the pipeline's lock. Whether a group or meter exists is the
 * tables' to say: the apply step, under the lock, looks each one up in this
 * order and answers the first missing one's error. A message that also
 * breaks a rule of its own further on (a length, a field) is answered that
 * error only when all it named before exists. So the answer is the one a
 * walk through the message, looking each name up as it comes, would give.
 */
#ifndef TSOF_REFS_H
#define TSOF_REFS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct tsof_ref {
	uint32_t id;
	bool meter;   /* a meter id, else a group id */
	int err;      /* the answer when there is none */
};

struct tsof_refs {
	struct tsof_ref *r;
	uint32_t n, cap;
};

/* 0, or -1 when out of memory. */
static inline int tsof_refs_add(struct tsof_refs *refs, uint32_t id, bool meter, int err)
{
	if (refs->n == refs->cap) {
		uint32_t cap = refs->cap ? refs->cap * 2 : 8;
		struct tsof_ref *r = realloc(refs->r, cap * sizeof *r);
		if (!r)
			return -1;
		refs->r = r;
		refs->cap = cap;
	}
	refs->r[refs->n++] = (struct tsof_ref){ .id = id, .meter = meter, .err = err };
	return 0;
}

static inline void tsof_refs_free(struct tsof_refs *refs)
{
	free(refs->r);
	*refs = (struct tsof_refs){ 0 };
}

#endif
