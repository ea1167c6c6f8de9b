/*
 * mac_learning.c: the MAC table behind OFPP_NORMAL (mac_learning.h has the
 * concurrency scheme).
 *
 * An entry is 16 bytes, so a set of 4 is one cache line. Its key word is
 * MAC << 16 | IN_USE | VID (12 bits); 0 marks an empty entry and BUSY
 * one being written. Times are whole seconds of the caller's clock: fine
 * enough for aging, and a thread that sees an address again within the same
 * second writes nothing, so threads sharing an address do not bounce its
 * cache line.
 */
#include "mac_learning.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define SET_BITS 11              /* 8192 entries: Open vSwitch's default mac-table-size */
#define N_SETS (1u << SET_BITS)

#define IN_USE 0x8000u
#define BUSY 1u                  /* IN_USE is clear: never a key */

struct entry {
	_Atomic uint64_t key;
	_Atomic uint32_t port;
	_Atomic uint32_t used;       /* seconds */
};

struct set {
	_Alignas(64) struct entry e[WAYS];
};

struct tsof_mac_table {
	struct set sets[N_SETS];
	_Atomic uint32_t aging;      /* seconds */
};

struct tsof_mac_table *tsof_mac_table_new(void)
{
	struct tsof_mac_table *t = aligned_alloc(_Alignof(struct tsof_mac_table), sizeof *t);

	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	atomic_init(&t->aging, TSOF_MAC_AGING_DEFAULT);
	return t;
}

void tsof_mac_table_free(struct tsof_mac_table *t)
{
	free(t);
}

void tsof_mac_table_set_aging(struct tsof_mac_table *t, unsigned seconds)
{
	atomic_store_explicit(&t->aging, seconds, memory_order_relaxed);
}

static uint64_t key_of(const uint8_t mac[6], uint16_t vlan)
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k << 16 | IN_USE | (vlan & 0xfffu);
}

/* Fibonacci hashing: the product's top bits depend on every bit of the key. */
static uint32_t set_index(uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - SET_BITS));
}

static uint32_t seconds_of(uint64_t now)
{
	return (uint32_t)(now / 1000000000u);
}

/* Seconds since used; 0 if another thread's clock ran ahead of ours. */
static uint32_t age(uint32_t used, uint32_t now_s)
{
	return now_s > used ? now_s - used : 0;
}

uint32_t tsof_mac_lookup(const struct tsof_mac_table *t, const uint8_t mac[6], uint16_t vlan, uint64_t now)
{
	uint64_t key = key_of(mac, vlan);
	const struct set *s = &t->sets[set_index(key)];

	for (int i = 0; i < WAYS; i++) {
		const struct entry *e = &s->e[i];
		if (atomic_load_explicit(&e->key, memory_order_acquire) != key)
			continue;
		uint32_t port = atomic_load_explicit(&e->port, memory_order_relaxed);
		uint32_t used = atomic_load_explicit(&e->used, memory_order_relaxed);
		/* Pairs with fill()'s release fence: if port came from a writer
		 * that claimed the entry after our first read, we see its mark. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->key, memory_order_relaxed) != key)
			return 0;
		return age(used, seconds_of(now)) < atomic_load_explicit(&t->aging, memory_order_relaxed) ? port : 0;
	}
	return 0;
}

/* e's key went from seen to BUSY here; false if another thread was first. */
static bool claim(struct entry *e, uint64_t seen)
{
	return atomic_compare_exchange_strong_explicit(&e->key, &seen, BUSY, memory_order_relaxed,
						       memory_order_relaxed);
}

/* Writes a claimed entry and publishes its key. */
static void fill(struct entry *e, uint64_t key, uint32_t port, uint32_t now_s)
{
	/* Readers must not take the new port under the old key (lookup's fence). */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->port, port, memory_order_relaxed);
	atomic_store_explicit(&e->used, now_s, memory_order_relaxed);
	atomic_store_explicit(&e->key, key, memory_order_release);
}

void tsof_mac_learn(struct tsof_mac_table *t, const uint8_t mac[6], uint16_t vlan, uint32_t port, uint64_t now)
{
	uint64_t key = key_of(mac, vlan), victim_key = 0;
	struct set *s = &t->sets[set_index(key)];
	uint32_t now_s = seconds_of(now), victim_age = 0;
	struct entry *victim = NULL;

	for (int i = 0; i < WAYS; i++) {
		struct entry *e = &s->e[i];
		uint64_t k = atomic_load_explicit(&e->key, memory_order_relaxed);
		if (k == key) {
			if (atomic_load_explicit(&e->port, memory_order_relaxed) != port) {
				if (claim(e, key))   /* the address moved */
					fill(e, key, port, now_s);
			} else if (atomic_load_explicit(&e->used, memory_order_relaxed) != now_s) {
				atomic_store_explicit(&e->used, now_s, memory_order_relaxed);
			}
			return;
		}
		if (k == BUSY)
			continue;
		/* An empty entry, else the oldest (expired ones are older than
		 * any live one). */
		uint32_t a = k ? age(atomic_load_explicit(&e->used, memory_order_relaxed), now_s) : UINT32_MAX;
		if (!victim || a > victim_age) {
			victim = e;
			victim_key = k;
			victim_age = a;
		}
	}
	if (victim && claim(victim, victim_key))
		fill(victim, key, port, now_s);
}

void tsof_mac_forget_port(struct tsof_mac_table *t, uint32_t port)
{
	for (uint32_t i = 0; i < N_SETS; i++)
		for (int j = 0; j < WAYS; j++) {
			struct entry *e = &t->sets[i].e[j];
			uint64_t k = atomic_load_explicit(&e->key, memory_order_acquire);
			/* If the swap fails, a writer claimed the entry first: what it
			 * writes comes from a frame received since. */
			if ((k & IN_USE) && atomic_load_explicit(&e->port, memory_order_relaxed) == port)
				atomic_compare_exchange_strong_explicit(&e->key, &k, 0, memory_order_relaxed,
									memory_order_relaxed);
		}
}
