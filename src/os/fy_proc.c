/*
 * fy_proc.c -- process statistics from /proc.
 *
 * /proc/PID/statm is one line of page counts: "size resident shared
 * text lib data dt".  The second field times the page size is the
 * RSS.  It is read with open/read/close into a stack buffer: no stdio,
 * no allocation, nothing left open across a fork.
 */

#include "fy_core.h"
#include "fy_proc.h"

#include <fcntl.h>
#include <dirent.h>


static uint64_t fy_proc_statm_rss(const char *path);


/*
 * Accepts nothing.  Returns this process's RSS in bytes, or 0 if
 * /proc/self/statm cannot be read.
 */
uint64_t
fy_proc_rss(void)
{
    return fy_proc_statm_rss("/proc/self/statm");
}


/*
 * Accepts a pid.  Returns that process's RSS in bytes, or 0 if it
 * cannot be read (gone, not ours to read, or pid <= 0).
 */
uint64_t
fy_proc_rss_of(pid_t pid)
{
    char  path[64];

    if (pid <= 0) {
        return 0;
    }

    snprintf(path, sizeof(path), "/proc/%ld/statm", (long) pid);

    return fy_proc_statm_rss(path);
}


/*
 * Accepts a pid.  Returns the number of entries in /proc/PID/fd, not
 * counting the fd this function opens to read it when pid is the
 * calling process, or -1 if the directory cannot be read.
 */
int
fy_proc_count_fds(pid_t pid)
{
    int             fd, n;
    char            path[64], self[16];
    DIR            *dir;
    struct dirent  *de;

    if (pid <= 0) {
        return -1;
    }

    snprintf(path, sizeof(path), "/proc/%ld/fd", (long) pid);

    fd = open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    dir = fdopendir(fd);
    if (dir == NULL) {
        (void) close(fd);
        return -1;
    }

    /* in our own fd table the directory we are reading is an entry
     * too; leave it out so the count is what the caller has open */
    self[0] = '\0';
    if (pid == getpid()) {
        snprintf(self, sizeof(self), "%d", fd);
    }

    n = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, self) == 0) {
            continue;
        }

        n++;
    }

    (void) closedir(dir);

    return n;
}


/*
 * Accepts the path of a statm file.  Returns its second field (the
 * resident page count) times the page size, or 0 if the file cannot
 * be read or does not look like statm.
 */
static uint64_t
fy_proc_statm_rss(const char *path)
{
    int       fd;
    long      page;
    char      buf[256], *p, *last;
    ssize_t   n;
    uint64_t  pages;

    fd = open(path, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }

    do {
        n = read(fd, buf, sizeof(buf) - 1);
    } while (n == -1 && errno == EINTR);

    (void) close(fd);

    if (n <= 0) {
        return 0;
    }

    last = buf + n;
    p = buf;

    /* skip the first field (total size) and the space after it */
    while (p < last && *p >= '0' && *p <= '9') {
        p++;
    }

    if (p == buf || p == last || *p != ' ') {
        return 0;
    }

    p++;

    if (p == last || *p < '0' || *p > '9') {
        return 0;
    }

    pages = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        /* a page count near 2^64 cannot be real; treat it as garbage */
        if (pages > (UINT64_MAX - 9) / 10) {
            return 0;
        }

        pages = pages * 10 + (uint64_t) (*p++ - '0');
    }

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        return 0;
    }

    return pages * (uint64_t) page;
}
