/*
 * timer_wheel.c: the hashed timer wheel of timer_wheel.h (as in Varghese and
 * Lauck's "Hashed and Hierarchical Timing Wheels", scheme 6, and the Linux
 * kernel's timer lists): one level, with laps, walked lazily.
 */
#include "timer_wheel.h"

#include <stdlib.h>

#define SLOT(tick) ((tick) & (TSOF_WHEEL_SLOTS - 1))

int tsof_wheel_init(struct tsof_wheel *w)
{
	*w = (struct tsof_wheel){ .slots = calloc(TSOF_WHEEL_SLOTS, sizeof *w->slots) };
	return w->slots ? 0 : -1;
}

void tsof_wheel_destroy(struct tsof_wheel *w)
{
	free(w->slots);
	w->slots = NULL;
}

void tsof_wheel_cancel(struct tsof_wheel *w, struct tsof_timer *t)
{
	if (!t->pprev)
		return;
	if (w->cursor == t)
		w->cursor = t->next;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->pprev = NULL;
	w->n--;
}

void tsof_wheel_arm(struct tsof_wheel *w, struct tsof_timer *t, uint64_t when)
{
	uint64_t tick = when / TSOF_WHEEL_TICK_NS;

	tsof_wheel_cancel(w, t);
	/* A deadline behind the walk goes in the slot being walked, at its
	 * head: a later call, if not this one, finds it due there. */
	if (tick < w->tick)
		tick = w->tick;
	struct tsof_timer **head = &w->slots[SLOT(tick)];
	t->when = when;
	t->next = *head;
	t->pprev = head;
	if (*head)
		(*head)->pprev = &t->next;
	*head = t;
	w->n++;
}

struct tsof_timer *tsof_wheel_next(struct tsof_wheel *w, uint64_t now, unsigned *budget)
{
	uint64_t now_tick = now / TSOF_WHEEL_TICK_NS;

	/* Nothing armed, nothing to miss: the walk starts from now. (So a
	 * caller that calls from the start never walks far.) */
	if (!w->n) {
		w->tick = now_tick;
		w->walking = false;
		return NULL;
	}
	/* After a lap or more without a call, one walk of every slot does. */
	if (now_tick >= w->tick + TSOF_WHEEL_SLOTS) {
		w->tick = now_tick - TSOF_WHEEL_SLOTS + 1;
		w->walking = false;
	}
	for (;;) {
		if (!w->walking) {
			w->cursor = w->slots[SLOT(w->tick)];
			w->walking = true;
		}
		while (w->cursor) {
			if (!*budget)
				return NULL;
			--*budget;
			struct tsof_timer *t = w->cursor;
			w->cursor = t->next;
			if (t->when <= now) {
				tsof_wheel_cancel(w, t);
				return t;
			}
		}
		/* Now's slot may hold timers due later in its tick: walk it
		 * again next call. */
		w->walking = false;
		if (w->tick >= now_tick)
			return NULL;
		w->tick++;
	}
}
