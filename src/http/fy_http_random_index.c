/*
 * fy_http_random_index.c -- nginx's random_index module: a request for
 * a directory ("/" at the end) is answered with a file of it picked at
 * random, by an internal redirect to its URI.
 *
 *     location /banners/ {
 *         random_index on;
 *     }
 *
 * The file handler (fy_http_static.c) asks here first for a directory
 * URI, with the directory it opened the way it opens everything (below
 * the root, no links followed), as nginx's random_index runs before
 * its index module.  As nginx's: only the directory's own regular
 * files count (no directory, no symbolic link, nothing whose name
 * starts with "."); a directory with none goes on to index and
 * autoindex.  One pass over the directory picks with equal chances
 * (reservoir sampling), keeping one name, never the list.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const fy_command_t  fy_http_random_index_commands[] = {

    { "random_index", FY_CONF_LOC, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, random_index), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* A number below n: xorshift64, seeded once per worker from the
 * kernel (a worker forked from the master must not repeat another's
 * choices). */
static uint64_t
fy_http_random_below(uint64_t n)
{
    static uint64_t  s;

    if (s == 0) {
        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s)) {
            s = (uint64_t) getpid() * 0x9e3779b97f4a7c15ULL
                ^ (uint64_t) fy_current_msec;
        }
        s |= 1;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s % n;
}

int
fy_http_random_index(fy_http_request_t *r, int fd, fy_str_t *pick)
{
    char            name[NAME_MAX + 1];
    struct dirent  *de;
    struct stat     st;
    uint64_t        n = 0;
    size_t          len = 0;
    DIR            *d;
    int             dfd, reg;

    /* a descriptor of its own: closedir closes it, fd stays open */
    dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1 || (d = fdopendir(dfd)) == NULL) {
        fy_log_error(FY_LOG_CRIT, errno, "opendir() of \"%.*s\" failed, "
                     "client %s", (int) r->path.len, r->path.data,
                     r->hc->addr_text);
        if (dfd != -1) {
            close(dfd);
        }
        return FY_ERROR;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (de->d_type != DT_UNKNOWN) {
            reg = de->d_type == DT_REG;
        } else {
            reg = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)
                  == 0 && S_ISREG(st.st_mode);
        }
        /* the n-th file replaces the one kept with chance 1/n */
        if (reg && fy_http_random_below(++n) == 0) {
            len = strlen(de->d_name);
            memcpy(name, de->d_name, len);
        }
    }
    closedir(d);
    if (n == 0) {
        return FY_DECLINED;
    }

    pick->data = fy_palloc(r->pool, len);
    if (pick->data == NULL) {
        return FY_ERROR;
    }
    memcpy(pick->data, name, len);
    pick->len = len;
    return FY_OK;
}
