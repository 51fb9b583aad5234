/*
 * test_core.c -- the core helpers: pools, number parsing, counted
 * strings, buffers, size and time values, the log line format, and
 * address text (fy_sockaddr_text, fy_parse_addrs).
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"
#include "fy_cycle.h"
#include "fy_tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>


#define NSMALL  5000


static int  cleanup_order[8];
static int  cleanup_n;


static void
record_cleanup(void *data)
{
    cleanup_order[cleanup_n++] = *(int *) data;
}


static void
test_pool_small(void)
{
    fy_pool_t  *pool;
    u_char     *p[NSMALL];
    size_t      size[NSMALL];
    int         i, aligned, intact;
    size_t      j;

    pool = fy_pool_create(1024);
    ok(pool != NULL, "pool created");

    aligned = 1;

    /* Fill every allocation with its own byte; an overlap shows later. */
    for (i = 0; i < NSMALL; i++) {
        size[i] = 1 + (i * 7919) % 200;
        p[i] = fy_palloc(pool, size[i]);

        if (p[i] == NULL) {
            break;
        }

        if ((uintptr_t) p[i] % 16) {
            aligned = 0;
        }

        memset(p[i], i & 0xff, size[i]);
    }

    is_int(i, NSMALL, "all small allocations succeeded");
    ok(aligned, "small allocations are 16-byte aligned");

    intact = 1;

    for (i = 0; i < NSMALL; i++) {
        for (j = 0; j < size[i]; j++) {
            if (p[i][j] != (u_char) (i & 0xff)) {
                intact = 0;
            }
        }
    }

    ok(intact, "small allocations do not overlap");

    fy_pool_destroy(pool);
}


static void
test_pool_big(void)
{
    fy_pool_t  *pool;
    u_char     *small1, *big, *small2;
    char       *s;
    int         i, zero;

    pool = fy_pool_create(0);
    ok(pool != NULL && pool->block_size > 0, "block size 0 means default");

    small1 = fy_palloc(pool, 32);
    big = fy_palloc(pool, 1 << 20);
    small2 = fy_palloc(pool, 32);

    ok(big != NULL && (uintptr_t) big % 16 == 0, "big allocation aligned");
    memset(big, 0xaa, 1 << 20);

    /* A big block must not take over as the small-allocation block. */
    ok(small2 == small1 + 32, "small allocation after a big one reuses "
       "the current block");

    big = fy_pcalloc(pool, 100000);
    zero = 1;

    for (i = 0; i < 100000; i++) {
        if (big[i]) {
            zero = 0;
        }
    }

    ok(zero, "fy_pcalloc zeroes a big block");

    ok(fy_palloc(pool, SIZE_MAX - 8) == NULL, "absurd size fails cleanly");

    s = fy_pstrndup(pool, "hello world", 5);
    is_str(s, "hello", "fy_pstrndup copies n bytes and terminates");

    s = fy_pstrndup(pool, "", 0);
    is_str(s, "", "fy_pstrndup of nothing is an empty string");

    fy_pool_destroy(pool);
    fy_pool_destroy(NULL);
    ok(1, "fy_pool_destroy(NULL) is harmless");
}


static void
test_pool_cleanup(void)
{
    fy_pool_t  *pool;
    static int  ids[3] = { 1, 2, 3 };
    int         i;

    pool = fy_pool_create(512);
    cleanup_n = 0;

    for (i = 0; i < 3; i++) {
        is_int(fy_pool_cleanup_add(pool, record_cleanup, &ids[i]), FY_OK,
               "cleanup %d added", i + 1);
    }

    fy_pool_destroy(pool);

    is_int(cleanup_n, 3, "all cleanups ran");
    ok(cleanup_order[0] == 3 && cleanup_order[1] == 2
       && cleanup_order[2] == 1, "cleanups ran in reverse order");
}


#define ATOI(s)  fy_atoi((const u_char *) (s), strlen(s))
#define HEXTOI(s)  fy_hextoi((const u_char *) (s), strlen(s))

static void
test_numbers(void)
{
    is_int(ATOI("0"), 0, "atoi 0");
    is_int(ATOI("007"), 7, "atoi leading zeros");
    is_int(ATOI("9223372036854775807"), INT64_MAX, "atoi INT64_MAX");
    is_int(ATOI("9223372036854775808"), -1, "atoi INT64_MAX + 1 overflows");
    is_int(ATOI("99999999999999999999"), -1, "atoi far overflow");
    is_int(ATOI(""), -1, "atoi empty");
    is_int(ATOI("12a"), -1, "atoi trailing junk");
    is_int(ATOI("-1"), -1, "atoi rejects a sign");
    is_int(ATOI(" 1"), -1, "atoi rejects a space");
    is_int(fy_atoi((const u_char *) "123", 2), 12, "atoi honours length");

    is_int(HEXTOI("ff"), 255, "hextoi lower case");
    is_int(HEXTOI("FF"), 255, "hextoi upper case");
    is_int(HEXTOI("0"), 0, "hextoi 0");
    is_int(HEXTOI("7fffffffffffffff"), INT64_MAX, "hextoi INT64_MAX");
    is_int(HEXTOI("8000000000000000"), -1, "hextoi overflow");
    is_int(HEXTOI("10000000000000000"), -1, "hextoi far overflow");
    is_int(HEXTOI("g"), -1, "hextoi non-hex");
    is_int(HEXTOI("1 "), -1, "hextoi trailing space");
    is_int(HEXTOI(""), -1, "hextoi empty");
}


/* Every pair of byte values at every place of strings of the lengths
 * each branch of fy_mem_eq_ci takes (bytes, 4-byte and 8-byte words,
 * overlapping tails), against the definition: equal bytes, or the two
 * cases of one ASCII letter. */
static void
test_mem_eq_ci_pairs(void)
{
    static const size_t  lens[] = { 1, 3, 4, 5, 7, 8, 9, 15, 16, 17 };
    u_char               a[17], b[17];
    size_t               li, n, k;
    unsigned             x, y, bad = 0;
    int                  want;

    for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        n = lens[li];
        for (k = 0; k < n; k++) {
            for (x = 0; x < 256; x++) {
                for (y = 0; y < 256; y++) {
                    memcpy(a, "aBcDeFgHiJkLmNoPq", n);
                    memcpy(b, "AbCdEfGhIjKlMnOpQ", n);
                    a[k] = (u_char) x;
                    b[k] = (u_char) y;
                    want = x == y
                           || ((x | 0x20) == (y | 0x20)
                               && (x | 0x20) >= 'a' && (x | 0x20) <= 'z');
                    if (fy_mem_eq_ci(a, (char *) b, n) != want) {
                        bad++;
                    }
                }
            }
        }
    }
    is_int((int) bad, 0, "mem_eq_ci: every byte pair, every place, "
           "lengths 1 to 17");
}

static void
test_strings(void)
{
    fy_str_t  s = fy_string("Keep-Alive");
    fy_str_t  e = fy_null_string;
    char     *c;

    ok(fy_str_eq_ci(&s, "keep-alive"), "eq_ci ignores case");
    ok(!fy_str_eq_ci(&s, "keep-aliv"), "eq_ci checks length");
    ok(!fy_str_eq_ci(&s, "keep_alive"), "eq_ci: '-' is not '_'");
    /* only letters fold: these pairs differ by 0x20 too */
    ok(!fy_mem_eq_ci((u_char *) "a^b", "a~b", 3), "mem_eq_ci: '^' is not '~'");
    ok(!fy_mem_eq_ci((u_char *) "@", "`", 1), "mem_eq_ci: '@' is not '`'");
    ok(!fy_mem_eq_ci((u_char *) "[", "{", 1), "mem_eq_ci: '[' is not '{'");
    ok(!fy_mem_eq_ci((u_char *) "\r", "-", 1), "mem_eq_ci: CR is not '-'");
    ok(fy_mem_eq_ci((u_char *) "X-ACCEL-z", "x-accel-Z", 9),
       "mem_eq_ci folds every letter");
    ok(!fy_mem_eq_ci((u_char *) "\xc1", "\xe1", 1),
       "mem_eq_ci folds ASCII letters only");
    ok(fy_mem_eq_ci((u_char *) "CONTENT-LENGTH", "Content-Length", 14)
       && !fy_mem_eq_ci((u_char *) "Content-Lengti", "Content-Length", 14)
       && !fy_mem_eq_ci((u_char *) "Dontent-Length", "Content-Length", 14),
       "mem_eq_ci: words of eight, the last overlapping");
    test_mem_eq_ci_pairs();
    ok(fy_str_eq(&s, "Keep-Alive"), "eq exact");
    ok(!fy_str_eq(&s, "keep-alive"), "eq is case-sensitive");
    ok(fy_str_eq(&e, ""), "empty string equals \"\"");

    c = fy_str_dup_cstr(&s);
    is_str(c, "Keep-Alive", "dup_cstr");
    free(c);

    c = fy_str_dup_cstr(&e);
    is_str(c, "", "dup_cstr of the null string");
    free(c);
}


static void
test_buf(void)
{
    fy_buf_t  b;

    is_int(fy_buf_alloc(&b, 16), FY_OK, "buffer allocated");
    is_int(fy_buf_free(&b), 16, "all free");

    memcpy(b.last, "abcdefghijkl", 12);
    b.last += 12;
    b.pos += 4;

    /* The 8 unconsumed bytes overlap their destination. */
    fy_buf_compact(&b);
    ok(b.pos == b.start, "compact moves pos to start");
    is_int(fy_buf_size(&b), 8, "compact keeps the data size");
    ok(memcmp(b.pos, "efghijkl", 8) == 0, "compact keeps the data");
    is_int(fy_buf_free(&b), 8, "compact frees the consumed room");

    fy_buf_compact(&b);
    is_int(fy_buf_size(&b), 8, "compact at start is a no-op");

    b.pos = b.last;
    fy_buf_compact(&b);
    ok(b.pos == b.start && b.last == b.start, "compact of a consumed "
       "buffer empties it");

    fy_buf_release(&b);
    ok(b.start == NULL, "release clears the buffer");
}


/* fy_mem: a freed block of a kept size is the next one handed out
 * (except under ASan, which turns the lists off); sizes share a list
 * by power of two; the block is as big as asked; tiny and huge sizes
 * go straight to malloc. */
static void
test_mem(void)
{
    u_char  *a, *b, *c;
    int      cached;

    a = fy_mem_alloc(5000);
    ok(a != NULL, "mem: 5000 bytes");
    memset(a, 'x', 5000);
    fy_mem_free(a, 5000);
    b = fy_mem_alloc(8192);
    cached = (b == a);
#if defined(__SANITIZE_ADDRESS__)
    cached = 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    cached = 1;
#endif
#endif
    ok(cached, "mem: 5000 and 8192 share a list: the block comes back");
    memset(b, 'y', 8192);
    c = fy_mem_alloc(8192);
    ok(c != NULL && c != b, "mem: a second block while the first is held");
    memset(c, 'z', 8192);
    fy_mem_free(b, 8192);
    fy_mem_free(c, 8192);
    fy_mem_free(NULL, 8192);
    ok(1, "mem: NULL is freed as nothing");

    a = fy_mem_alloc(100);
    b = fy_mem_alloc(1 << 20);
    ok(a != NULL && b != NULL, "mem: sizes not kept still allocate");
    memset(b, 0, 1 << 20);
    fy_mem_free(a, 100);
    fy_mem_free(b, 1 << 20);
}


static int64_t
size_of(const char *s)
{
    fy_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return fy_conf_parse_size(&v);
}


static int64_t
msec_of(const char *s)
{
    fy_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return fy_conf_parse_msec(&v);
}


static void
test_size(void)
{
    is_int(size_of("0"), 0, "size 0");
    is_int(size_of("512"), 512, "size bytes");
    is_int(size_of("8k"), 8192, "size k");
    is_int(size_of("8K"), 8192, "size K");
    is_int(size_of("1m"), 1048576, "size m");
    is_int(size_of("2G"), 2147483648LL, "size G");
    is_int(size_of("8589934591g"), 8589934591LL << 30, "size largest g");
    is_int(size_of("8589934592g"), -1, "size g overflow");
    is_int(size_of("9223372036854775807"), INT64_MAX, "size INT64_MAX");
    is_int(size_of("9223372036854775808"), -1, "size overflow");
    is_int(size_of(""), -1, "size empty");
    is_int(size_of("k"), -1, "size unit without number");
    is_int(size_of("1kb"), -1, "size two-letter unit");
    is_int(size_of("1.5m"), -1, "size fraction");
    is_int(size_of("1t"), -1, "size unknown unit");
    is_int(size_of("-1"), -1, "size negative");
}


static void
test_time(void)
{
    is_int(msec_of("0"), 0, "time 0");
    is_int(msec_of("10"), 10000, "time bare number is seconds");
    is_int(msec_of("500ms"), 500, "time ms");
    is_int(msec_of("10s"), 10000, "time s");
    is_int(msec_of("2m"), 120000, "time m");
    is_int(msec_of("1h30m"), 5400000, "time 1h30m");
    is_int(msec_of("1h 30m"), 5400000, "time with a space");
    is_int(msec_of("1h30"), 3630000, "time trailing bare seconds");
    is_int(msec_of("1d"), 86400000, "time d");
    is_int(msec_of("1w"), 604800000, "time w");
    is_int(msec_of("1M"), 2592000000LL, "time M is 30 days");
    is_int(msec_of("1y"), 31536000000LL, "time y is 365 days");
    is_int(msec_of("1y1M1w1d1h1m1s1ms"),
           31536000000LL + 2592000000LL + 604800000 + 86400000 + 3600000
           + 60000 + 1000 + 1, "time every unit");
    is_int(msec_of("1m500ms"), 60500, "time m then ms");
    is_int(msec_of("30m1h"), -1, "time units out of order");
    is_int(msec_of("1h1h"), -1, "time unit repeated");
    is_int(msec_of("1s5"), -1, "time bare number after seconds");
    is_int(msec_of("h"), -1, "time unit without number");
    is_int(msec_of("1hm"), -1, "time second unit without number");
    is_int(msec_of(""), -1, "time empty");
    is_int(msec_of("1x"), -1, "time unknown unit");
    is_int(msec_of("1.5s"), -1, "time fraction");
    is_int(msec_of(" 1s"), -1, "time leading space");
    is_int(msec_of("9223372036854775807ms"), INT64_MAX, "time INT64_MAX ms");
    is_int(msec_of("9223372036854775s"), 9223372036854775000LL,
           "time largest s");
    is_int(msec_of("9223372036854776s"), -1, "time s overflow");
    is_int(msec_of("292471208y"), 9223372015488000000LL, "time largest y");
    is_int(msec_of("292471209y"), -1, "time y overflow");
    is_int(msec_of("292471208y21366775807ms"), INT64_MAX, "time y+ms at max");
    is_int(msec_of("292471208y21366775808ms"), -1, "time y+ms overflow");
    is_int(msec_of("9223372036854775806ms"), INT64_MAX - 1, "time big ms");
    is_int(msec_of("1s9223372036854774807ms"), INT64_MAX, "time sum at max");
    is_int(msec_of("1s9223372036854774808ms"), -1, "time sum overflow");
}


static size_t
read_all(const char *path, char *buf, size_t size)
{
    ssize_t  n;
    int      fd;

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return 0;
    }

    n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';

    return n > 0 ? (size_t) n : 0;
}


/* "YYYY/MM/DD HH:MM:SS " */
static int
looks_like_time(const char *s)
{
    const char  *pat = "dddd/dd/dd dd:dd:dd ";
    size_t       i;

    for (i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) {
            return 0;
        }
    }

    return 1;
}


static void
test_log(void)
{
    char      dir[] = "/tmp/fy_test_core.XXXXXX";
    char      path[128], buf[8192], want[64], *nl;
    char      big[4000];
    fy_log_t  saved;
    size_t    n;

    is_int(fy_log_level_from_name("emerg", 5), FY_LOG_EMERG, "level emerg");
    is_int(fy_log_level_from_name("error", 5), FY_LOG_ERR, "level error");
    is_int(fy_log_level_from_name("debug", 5), FY_LOG_DEBUG, "level debug");
    is_int(fy_log_level_from_name("errors", 6), -1, "level unknown");
    is_int(fy_log_level_from_name("err", 3), -1, "level prefix");
    is_str(fy_log_level_name(FY_LOG_WARN), "warn", "level name warn");
    is_int(fy_log.level, FY_LOG_WARN, "default level (until the log is open) is warn");
    is_int(fy_log.fd, 2, "default log is stderr");

    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }

    snprintf(path, sizeof(path), "%s/error.log", dir);
    saved = fy_log;

    is_int(fy_log_open(&fy_log, path, FY_LOG_WARN), FY_OK, "log opened");

    fy_log_error(FY_LOG_INFO, 0, "dropped");
    fy_log_error(FY_LOG_EMERG, 0, "hello %d", 42);
    fy_log_error(FY_LOG_ERR, ECONNREFUSED, "connect() failed");

    n = read_all(path, buf, sizeof(buf));
    ok(n > 0, "log file written");
    ok(strstr(buf, "dropped") == NULL, "levels above the log's are dropped");
    ok(looks_like_time(buf), "line starts with the time");

    snprintf(want, sizeof(want), "[emerg] %ld#0: hello 42\n", (long) getpid());
    ok(strstr(buf, want) == buf + 20, "level, pid and message");

    nl = strchr(buf, '\n');
    ok(nl && strstr(nl + 1, "[error]") != NULL
       && strstr(nl + 1, ": connect() failed: Connection refused (111)\n"),
       "errno text appended");

    /* A long message is cut, but the line still ends with errno. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    if (ftruncate(fy_log.fd, 0) == 0) {
        fy_log_error(FY_LOG_EMERG, EPIPE, "%s", big);
        n = read_all(path, buf, sizeof(buf));
        ok(n <= 2048 && n > 1800, "long line truncated to %zu bytes", n);
        ok(n > 1 && strstr(buf, "x: Broken pipe (32)\n") != NULL
           && buf[n - 1] == '\n', "truncated line keeps errno and newline");
    }

    /* Rotation: the old name moved away, reopen starts a new file. */
    snprintf(buf, sizeof(buf), "%s.1", path);
    rename(path, buf);
    fy_log_reopen(&fy_log);
    fy_log_error(FY_LOG_EMERG, 0, "after reopen");
    n = read_all(path, buf, sizeof(buf));
    ok(n > 0 && strstr(buf, "after reopen") != NULL,
       "reopen writes to the new file");

    close(fy_log.fd);
    free(fy_log.path);
    fy_log = saved;

    unlink(path);
    snprintf(buf, sizeof(buf), "%s.1", path);
    unlink(buf);
    rmdir(dir);
}

static void
test_sockaddr_text(void)
{
    struct sockaddr_in   a4;
    struct sockaddr_in6  a6;
    char                 buf[64];
    char                 small[8];

    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = htons(65535);
    inet_pton(AF_INET, "255.0.10.1", &a4.sin_addr);
    fy_sockaddr_text((struct sockaddr *) &a4, sizeof(a4), buf, sizeof(buf), 1);
    is_str(buf, "255.0.10.1:65535", "IPv4 with port");
    fy_sockaddr_text((struct sockaddr *) &a4, sizeof(a4), buf, sizeof(buf), 0);
    is_str(buf, "255.0.10.1", "IPv4 without port");
    a4.sin_port = htons(0);
    inet_pton(AF_INET, "0.0.0.0", &a4.sin_addr);
    fy_sockaddr_text((struct sockaddr *) &a4, sizeof(a4), buf, sizeof(buf), 1);
    is_str(buf, "0.0.0.0:0", "IPv4 zeros");
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    fy_sockaddr_text((struct sockaddr *) &a4, sizeof(a4), small, sizeof(small), 0);
    is_str(small, "127.0.0", "IPv4 cut to the buffer, terminated");

    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(8080);
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    fy_sockaddr_text((struct sockaddr *) &a6, sizeof(a6), buf, sizeof(buf), 1);
    is_str(buf, "[::1]:8080", "IPv6 with port");
}

/* fy_parse_addrs on text that needs no resolver (host names are
 * t/upstream_names.t's, with a hosts file of its own): one address,
 * *named 0, the same parse as fy_parse_addr_port. */
static void
test_parse_addrs(void)
{
    fy_pool_t   *pool = fy_pool_create(1024);
    fy_array_t   a;
    fy_addr_t   *e;
    char         buf[FY_SOCKADDR_STRLEN];
    int          named, rc;
    static const struct {
        const char  *text;
        int          need_port;
        int          rc;
        const char  *want;
    } cases[] = {
        { "127.0.0.1:8080", 0, FY_OK, "127.0.0.1:8080" },
        { "127.0.0.1", 0, FY_OK, "127.0.0.1:80" },
        { "127.0.0.1", 1, FY_ERROR, NULL },
        { "[::1]:81", 1, FY_OK, "[::1]:81" },
        { "8080", 0, FY_OK, "0.0.0.0:8080" },
        { "*:443", 0, FY_OK, "0.0.0.0:443" },
        { "unix:/run/a.sock", 0, FY_OK, "unix:/run/a.sock" },
        { "[::1", 0, FY_ERROR, NULL },
        { "127.0.0.1:0", 0, FY_ERROR, NULL },
        { "127.0.0.1:65536", 0, FY_ERROR, NULL },
        { ":80", 0, FY_ERROR, NULL },
        { "unix:/0123456789012345678901234567890123456789012345678901234567"
          "89012345678901234567890123456789012345678901234567890123456789",
          0, FY_DECLINED, NULL },
    };
    unsigned     i;

    ok(pool != NULL, "pool for fy_parse_addrs");
    for (i = 0; pool && i < sizeof(cases) / sizeof(cases[0]); i++) {
        named = -1;
        rc = fy_parse_addrs(pool, (const u_char *) cases[i].text,
                            strlen(cases[i].text), cases[i].need_port, &a,
                            &named);
        is_int(rc, cases[i].rc, "fy_parse_addrs \"%s\": result",
               cases[i].text);
        if (cases[i].want == NULL) {
            continue;
        }
        is_int(a.nelts, 1, "... one address");
        is_int(named, 0, "... not a host name");
        if (a.nelts == 1) {
            e = fy_array_elt(&a, fy_addr_t, 0);
            fy_sockaddr_text(&e->addr.sa, e->addrlen, buf, sizeof(buf), 1);
            is_str(buf, cases[i].want, "... %s", cases[i].want);
        }
    }
    if (pool) {
        fy_pool_destroy(pool);
    }
}

int
main(void)
{
    test_pool_small();
    test_pool_big();
    test_pool_cleanup();
    test_numbers();
    test_strings();
    test_buf();
    test_mem();
    test_size();
    test_time();
    test_log();
    test_sockaddr_text();
    test_parse_addrs();

    return done_testing();
}
