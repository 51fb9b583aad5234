/*
 * fy_shm.c -- the shared-memory region the workers report through.
 *
 * One anonymous MAP_SHARED mapping made by the master before the first
 * fork: every worker inherits it at the same address, so the slots
 * need no names, no files and no attaching.  It is never remapped: a
 * reload keeps it, and old and new workers keep writing the same
 * region the master reads.
 */

#include "fy_core.h"
#include "fy_shm.h"

#include <sys/mman.h>
#include <sched.h>
#include <signal.h>


fy_shm_t  *fy_shm;

/* Roughly logarithmic, like Prometheus' default buckets, in ms. */
const uint64_t  fy_rt_bounds_ms[FY_RT_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000,
    60000, UINT64_MAX
};


/*
 * Accepts nothing.  Maps sizeof(fy_shm_t) rounded up to whole pages,
 * zero-filled, and points fy_shm at it.  Returns FY_OK, also when the
 * region exists already (a reload must keep the mapping the running
 * workers write to), or FY_ERROR logged as [emerg].
 */
int
fy_shm_init(void)
{
    int     err;
    long    page;
    size_t  size;
    void   *p;

    if (fy_shm != NULL) {
        return FY_OK;
    }

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        page = 4096;
    }

    size = (sizeof(fy_shm_t) + (size_t) page - 1) & ~((size_t) page - 1);

    /* anonymous memory is zero-filled by the kernel: all slots start
     * free (pid 0) with all counters at 0, no memset needed */
    p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS,
             -1, 0);

    if (p == MAP_FAILED) {
        err = errno;
        fy_log_error(FY_LOG_EMERG, err,
                     "mmap(MAP_SHARED|MAP_ANONYMOUS, %zu) failed", size);
        errno = err;
        return FY_ERROR;
    }

    fy_shm = p;

    return FY_OK;
}


/*
 * Accepts a lock in shared memory.  Returns when this process holds
 * it.  Spins briefly, then yields the CPU between attempts (with two
 * cores and more workers, spinning against a descheduled owner would
 * waste its time slice); every few thousand attempts it checks that
 * the owner still exists and takes the lock from a dead one.
 */
void
fy_shm_lock(fy_shm_lock_t *lock)
{
    uint64_t  me = (uint64_t) fy_getpid(), owner;
    unsigned  spins = 0;

    for ( ;; ) {
        owner = 0;
        if (__atomic_compare_exchange_n(&lock->owner, &owner, me, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        {
            return;
        }
        if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            continue;
        }
        if (spins % 4096 == 0 && kill((pid_t) owner, 0) == -1
            && errno == ESRCH
            && __atomic_compare_exchange_n(&lock->owner, &owner, me, 0,
                                           __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED))
        {
            fy_log_error(FY_LOG_ALERT, 0, "shared lock held by dead process "
                         "%llu taken over", (unsigned long long) owner);
            return;
        }
        sched_yield();
    }
}

void
fy_shm_unlock(fy_shm_lock_t *lock)
{
    __atomic_store_n(&lock->owner, 0, __ATOMIC_RELEASE);
}
