/*
 * fy_timer.c -- timers as a binary min-heap of events.
 *
 * Each event remembers its position in the heap, so deleting or
 * re-arming a timer is O(log n) without a search.  The heap grows by
 * doubling; it never shrinks (its size follows the connection limit).
 */
#include "fy_core.h"
#include "fy_event.h"

static fy_event_t  **fy_heap;
static unsigned      fy_heap_n;
static unsigned      fy_heap_cap;

static void
fy_heap_set(unsigned i, fy_event_t *ev)
{
    fy_heap[i] = ev;
    ev->timer_index = (int) i;
}

static void
fy_heap_up(unsigned i)
{
    fy_event_t  *ev = fy_heap[i];
    unsigned     parent;

    while (i > 0) {
        parent = (i - 1) / 2;
        if (fy_heap[parent]->timer <= ev->timer) {
            break;
        }
        fy_heap_set(i, fy_heap[parent]);
        i = parent;
    }
    fy_heap_set(i, ev);
}

static void
fy_heap_down(unsigned i)
{
    fy_event_t  *ev = fy_heap[i];
    unsigned     child;

    for ( ;; ) {
        child = 2 * i + 1;
        if (child >= fy_heap_n) {
            break;
        }
        if (child + 1 < fy_heap_n
            && fy_heap[child + 1]->timer < fy_heap[child]->timer)
        {
            child++;
        }
        if (ev->timer <= fy_heap[child]->timer) {
            break;
        }
        fy_heap_set(i, fy_heap[child]);
        i = child;
    }
    fy_heap_set(i, ev);
}

void
fy_timer_unlink(fy_event_t *ev)
{
    unsigned     i;
    fy_event_t  *last;

    i = (unsigned) ev->timer_index;
    ev->timer_index = -1;
    last = fy_heap[--fy_heap_n];

    if (i == fy_heap_n) {
        return;
    }

    fy_heap_set(i, last);
    if (i > 0 && fy_heap[(i - 1) / 2]->timer > last->timer) {
        fy_heap_up(i);
    } else {
        fy_heap_down(i);
    }
}

/*
 * Arm ev to fire `msec` from now.  Allocation failure of the heap is
 * fatal for the process: a connection without its timeout could hang
 * forever, which is worse than a worker restart.
 */
void
fy_timer_add(fy_event_t *ev, uint64_t msec)
{
    fy_event_t  **heap;
    unsigned      cap;

    fy_timer_del(ev);

    if (fy_heap_n == fy_heap_cap) {
        cap = fy_heap_cap ? fy_heap_cap * 2 : 256;
        heap = realloc(fy_heap, cap * sizeof(fy_event_t *));
        if (heap == NULL) {
            fy_log_error(FY_LOG_EMERG, errno, "timer heap realloc() failed");
            abort();
        }
        fy_heap = heap;
        fy_heap_cap = cap;
    }

    ev->timer = fy_current_msec + msec;
    ev->timedout = 0;
    fy_heap_set(fy_heap_n, ev);
    fy_heap_n++;
    fy_heap_up(fy_heap_n - 1);
}

int
fy_timer_next(void)
{
    if (fy_heap_n == 0) {
        return -1;
    }
    if (fy_heap[0]->timer <= fy_current_msec) {
        return 0;
    }
    return (int) fy_min(fy_heap[0]->timer - fy_current_msec, (uint64_t) 1 << 30);
}

/*
 * Run every expired timer.  A handler may add or delete timers, so
 * the root is re-read after each call.
 */
void
fy_timer_expire(void)
{
    fy_event_t  *ev;

    while (fy_heap_n > 0 && fy_heap[0]->timer <= fy_current_msec) {
        ev = fy_heap[0];
        fy_timer_del(ev);
        ev->timedout = 1;
        fy_event_call(ev);
    }
}

unsigned
fy_timer_count(void)
{
    return fy_heap_n;
}

/* Forget every timer (after fork: the events belong to the parent). */
void
fy_timer_reset(void)
{
    fy_heap_n = 0;
}
