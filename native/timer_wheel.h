/*
 * timer_wheel.h: a hashed timer wheel for deadlines in nanoseconds, the
 * flows' idle and hard timeouts (mod_apply.c). Writer side only, under the
 * pipeline's lock.
 *
 * A timer sits in the slot of its deadline's tick (TSOF_WHEEL_TICK_NS) modulo
 * TSOF_WHEEL_SLOTS, on a doubly linked list, so arming and cancelling are
 * O(1). tsof_wheel_next() walks the slots from the last tick it finished up
 * to now's and hands back timers whose deadline has passed, one at a time;
 * a caller looks only at what may be due, never at every timer. A timer more
 * than a lap (TSOF_WHEEL_SLOTS ticks) ahead shares a slot with nearer ones
 * and is passed over once per lap; one in now's slot but not yet due stays
 * until a later call. The wheel keeps a cursor into the slot it is walking,
 * so a walk can stop after a budget and go on in the next call, and a timer
 * cancelled or armed meanwhile is handled.
 */
#ifndef TSOF_TIMER_WHEEL_H
#define TSOF_TIMER_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define TSOF_WHEEL_TICK_NS (1000000000ull / 16)  /* 62.5 ms */
#define TSOF_WHEEL_SLOTS 16384u                  /* a power of two: a lap of 1024 s */

struct tsof_timer {
	struct tsof_timer *next, **pprev;  /* pprev NULL: not armed */
	uint64_t when;                     /* the deadline, ns */
};

struct tsof_wheel {
	struct tsof_timer **slots;
	uint64_t tick;                     /* the slot being walked, or next to be */
	struct tsof_timer *cursor;         /* next in it to look at */
	bool walking;                      /* cursor is valid */
	unsigned n;                        /* armed timers */
};

int tsof_wheel_init(struct tsof_wheel *w);  /* -1: no memory */
void tsof_wheel_destroy(struct tsof_wheel *w);  /* the timers are the caller's */

static inline bool tsof_timer_armed(const struct tsof_timer *t)
{
	return t->pprev != 0;
}

/* Arms t for when, or moves it there if armed. */
void tsof_wheel_arm(struct tsof_wheel *w, struct tsof_timer *t, uint64_t when);
/* Disarms t; nothing if it is not armed. */
void tsof_wheel_cancel(struct tsof_wheel *w, struct tsof_timer *t);
/* A timer whose deadline is at or before now, disarmed, or NULL when none is
 * left or *budget (the timers looked at, due or not) ran out first. Call it
 * from the start, with nothing armed, and then at least once a lap: the first
 * call after a lap or more without one looks at every timer. */
struct tsof_timer *tsof_wheel_next(struct tsof_wheel *w, uint64_t now, unsigned *budget);

#endif
