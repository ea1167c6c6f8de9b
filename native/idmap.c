/*
 * idmap.c: chained hashing by id, doubling when the load reaches one.
 */
#include "idmap.h"

#include <stdlib.h>

static uint32_t id_hash(uint32_t id)
{
	id ^= id >> 16;
	id *= 0x7feb352d;
	id ^= id >> 15;
	return id;
}

int tsof_idmap_init(struct tsof_idmap *m)
{
	m->n_buckets = 64;
	m->n = 0;
	m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
	return m->buckets ? 0 : -1;
}

void tsof_idmap_destroy(struct tsof_idmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
}

struct tsof_idnode *tsof_idmap_find(const struct tsof_idmap *m, uint32_t id)
{
	for (struct tsof_idnode *n = m->buckets[id_hash(id) & (m->n_buckets - 1)]; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

int tsof_idmap_insert(struct tsof_idmap *m, struct tsof_idnode *node)
{
	if (m->n >= m->n_buckets) {
		uint32_t nb = m->n_buckets * 2;
		struct tsof_idnode **b = calloc(nb, sizeof *b);
		if (!b)
			return -1;
		for (uint32_t i = 0; i < m->n_buckets; i++)
			while (m->buckets[i]) {
				struct tsof_idnode *n = m->buckets[i];
				m->buckets[i] = n->next;
				n->next = b[id_hash(n->id) & (nb - 1)];
				b[id_hash(n->id) & (nb - 1)] = n;
			}
		free(m->buckets);
		m->buckets = b;
		m->n_buckets = nb;
	}
	struct tsof_idnode **head = &m->buckets[id_hash(node->id) & (m->n_buckets - 1)];
	node->next = *head;
	*head = node;
	m->n++;
	return 0;
}

void tsof_idmap_remove(struct tsof_idmap *m, struct tsof_idnode *node)
{
	struct tsof_idnode **pp = &m->buckets[id_hash(node->id) & (m->n_buckets - 1)];

	while (*pp != node)
		pp = &(*pp)->next;
	*pp = node->next;
	m->n--;
}

struct tsof_idnode *tsof_idmap_first(const struct tsof_idmap *m)
{
	for (uint32_t i = 0; m->n && i < m->n_buckets; i++)
		if (m->buckets[i])
			return m->buckets[i];
	return NULL;
}
