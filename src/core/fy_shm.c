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
