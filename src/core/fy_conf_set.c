/*
 * fy_conf_set.c -- the generic setters and the value parsers behind them.
 *
 * Most directives set one field of a module's configuration: a flag,
 * a number, a size, a time, a string or one of a few names.  Their
 * rows name one of the setters here and give the field's offset (and,
 * in "post", bounds or the table of names); a setter checks the value,
 * refuses a second one ("is duplicate") and stores it.  The value
 * parsers are public too, for handlers that take several arguments.
 */
#include "fy_core.h"
#include "fy_conf_file.h"

#include <limits.h>


/* A setter's message that needs formatting, kept in the pool. */
static const char *
fy_conf_msg(fy_conf_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
fy_conf_msg(fy_conf_t *cf, const char *fmt, ...)
{
    char     buf[FY_CONF_ERRSTR_MAX];
    char    *p;
    int      n;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (n < 0) {
        return "has an invalid value";
    }

    p = fy_pstrndup(cf->pool, buf, fy_min((size_t) n, sizeof(buf) - 1));

    return p ? p : "failed: out of memory";
}


/* ---- value parsers ------------------------------------------------ */


int64_t
fy_conf_parse_size(const fy_str_t *s)
{
    int64_t  value, scale;
    size_t   len;

    len = s->len;

    if (len == 0) {
        return -1;
    }

    switch (s->data[len - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        len--;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        len--;
        break;
    case 'g':
    case 'G':
        scale = 1024 * 1024 * 1024;
        len--;
        break;
    default:
        scale = 1;
    }

    value = fy_atoi(s->data, len);

    if (value == -1 || value > INT64_MAX / scale) {
        return -1;
    }

    return value * scale;
}


/*
 * Time units, largest first: a unit's rank is its index here.  Units in
 * a value must go from larger to smaller ("1h30m", not "30m1h"), as
 * nginx requires.  "ms" is handled apart because 'm' is minutes.
 */
static const struct {
    u_char   unit;
    int64_t  ms;
} fy_conf_time_units[] = {
    { 'y', 365LL * 24 * 3600 * 1000 },
    { 'M', 30LL * 24 * 3600 * 1000 },
    { 'w', 7LL * 24 * 3600 * 1000 },
    { 'd', 24LL * 3600 * 1000 },
    { 'h', 3600LL * 1000 },
    { 'm', 60LL * 1000 },
    { 's', 1000 },
};

#define FY_CONF_RANK_SEC    6       /* 's' above: a bare number */
#define FY_CONF_RANK_MSEC   7       /* after all of the above */


/* The unit at p: its length (0 if none), milliseconds and rank. */
static size_t
fy_conf_time_unit(const u_char *p, const u_char *end, int64_t *ms,
    int *rank)
{
    int  i;

    if (p[0] == 'm' && p + 1 < end && p[1] == 's') {
        *ms = 1;
        *rank = FY_CONF_RANK_MSEC;
        return 2;
    }

    for (i = 0; i < (int) fy_nelems(fy_conf_time_units); i++) {
        if (p[0] == fy_conf_time_units[i].unit) {
            *ms = fy_conf_time_units[i].ms;
            *rank = i;
            return 1;
        }
    }

    return 0;
}


int64_t
fy_conf_parse_msec(const fy_str_t *s)
{
    const u_char  *p, *end, *digits;
    int64_t        total, value, ms;
    size_t         n;
    int            rank, prev;

    p = s->data;
    end = p + s->len;
    total = 0;
    prev = -1;

    if (s->len == 0) {
        return -1;
    }

    while (p < end) {
        for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
            /* void */
        }

        value = fy_atoi(digits, p - digits);
        if (value == -1) {
            return -1;
        }

        if (p == end) {
            ms = 1000;          /* a bare number is seconds */
            rank = FY_CONF_RANK_SEC;
            n = 0;

        } else {
            n = fy_conf_time_unit(p, end, &ms, &rank);
            if (n == 0) {
                return -1;
            }
        }

        if (rank <= prev || value > INT64_MAX / ms) {
            return -1;
        }

        value *= ms;

        if (total > INT64_MAX - value) {
            return -1;
        }

        total += value;
        prev = rank;

        /* "1h 30m" is allowed, as in nginx. */
        for (p += n; p < end && *p == ' '; p++) {
            /* void */
        }
    }

    return total;
}


/* ---- generic setters ---------------------------------------------- */


static const char *
fy_conf_invalid(fy_conf_t *cf)
{
    return fy_conf_msg(cf, "invalid value \"%s\"", cf->args[1].data);
}


static const char *
fy_conf_check_bounds(fy_conf_t *cf, const fy_command_t *cmd, int64_t v)
{
    const fy_conf_bounds_t  *b;

    b = cmd->post;

    if (b && (v < b->min || v > b->max)) {
        return fy_conf_msg(cf, "value must be between %lld and %lld",
                           (long long) b->min, (long long) b->max);
    }

    return FY_CONF_OK;
}


const char *
fy_conf_set_const(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cf);

    *(unsigned *) ((char *) conf + cmd->offset) =
        *(const unsigned *) cmd->post;
    return FY_CONF_OK;
}


const char *
fy_conf_set_flag(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    int  *field;

    field = (int *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }

    if (fy_str_eq_ci(&cf->args[1], "on")) {
        *field = 1;

    } else if (fy_str_eq_ci(&cf->args[1], "off")) {
        *field = 0;

    } else {
        return fy_conf_msg(cf, "invalid value \"%s\", it must be \"on\" "
                           "or \"off\"", cf->args[1].data);
    }

    return FY_CONF_OK;
}


const char *
fy_conf_set_num(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const char  *rv;
    int64_t     *field, v;

    field = (int64_t *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET) {
        return "is duplicate";
    }

    v = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (v == -1) {
        return fy_conf_invalid(cf);
    }

    rv = fy_conf_check_bounds(cf, cmd, v);
    if (rv == FY_CONF_OK) {
        *field = v;
    }

    return rv;
}


const char *
fy_conf_set_int(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const char  *rv;
    int64_t      v;
    int         *field;

    field = (int *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }

    v = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (v == -1 || v > INT_MAX) {
        return fy_conf_invalid(cf);
    }

    rv = fy_conf_check_bounds(cf, cmd, v);
    if (rv == FY_CONF_OK) {
        *field = (int) v;
    }

    return rv;
}


const char *
fy_conf_set_size(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const char  *rv;
    int64_t      v;
    size_t      *field;

    field = (size_t *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    v = fy_conf_parse_size(&cf->args[1]);
    if (v == -1 || (uint64_t) v >= (uint64_t) SIZE_MAX) {
        return fy_conf_invalid(cf);
    }

    rv = fy_conf_check_bounds(cf, cmd, v);
    if (rv == FY_CONF_OK) {
        *field = (size_t) v;
    }

    return rv;
}


const char *
fy_conf_set_msec(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const char  *rv;
    int64_t     *field, v;

    field = (int64_t *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    v = fy_conf_parse_msec(&cf->args[1]);
    if (v == -1) {
        return fy_conf_invalid(cf);
    }

    rv = fy_conf_check_bounds(cf, cmd, v);
    if (rv == FY_CONF_OK) {
        *field = v;
    }

    return rv;
}


/* The words already live in cf->pool, NUL-terminated, for good. */
const char *
fy_conf_set_str(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_str_t  *field;

    field = (fy_str_t *) ((char *) conf + cmd->offset);

    if (field->data != NULL) {
        return "is duplicate";
    }

    *field = cf->args[1];

    return FY_CONF_OK;
}


const char *
fy_conf_set_enum(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_conf_enum_t  *e;
    int                   *field;

    field = (int *) ((char *) conf + cmd->offset);

    if (*field != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }

    for (e = cmd->post; e && e->name; e++) {
        if (fy_str_eq_ci(&cf->args[1], e->name)) {
            *field = e->value;
            return FY_CONF_OK;
        }
    }

    return fy_conf_invalid(cf);
}
