/*
 * idmap.h: a map from 32-bit ids to objects that embed a struct tsof_idnode,
 * for the group and meter tables. Writer side only: datapath threads reach
 * groups and meters through pointers in actions and instructions, never by id.
 */
#ifndef TSOF_IDMAP_H
#define TSOF_IDMAP_H

#include <stdint.h>

struct tsof_idnode {
	uint32_t id;
	struct tsof_idnode *next;
};

struct tsof_idmap {
	struct tsof_idnode **buckets;
	uint32_t n_buckets;   /* a power of two */
	uint32_t n;
};

int tsof_idmap_init(struct tsof_idmap *m);
void tsof_idmap_destroy(struct tsof_idmap *m);  /* the nodes are the caller's */
struct tsof_idnode *tsof_idmap_find(const struct tsof_idmap *m, uint32_t id);
int tsof_idmap_insert(struct tsof_idmap *m, struct tsof_idnode *node);  /* -1: no memory */
void tsof_idmap_remove(struct tsof_idmap *m, struct tsof_idnode *node);
/* Any node, to empty the map one by one; NULL when empty. */
struct tsof_idnode *tsof_idmap_first(const struct tsof_idmap *m);

#endif
