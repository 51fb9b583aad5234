/*
 * fy_http_regex.c -- regular expressions for "location ~ RE" and
 * "server_name ~RE", through PCRE2, and the capture variables $1..$9
 * and $NAME (for "(?<NAME>...)").
 *
 * A regex is compiled once, when the configuration is read, and with
 * "pcre_jit on" (the default) JIT compiled once the whole configuration
 * is read, since pcre_jit may come after http {}; pcre2_match runs
 * the JIT code where there is some and interprets the pattern
 * otherwise.  The
 * match data is one per worker, grown to the largest capture count
 * seen; a match with captures copies its offsets into the request pool
 * so that variables evaluated later (return, log_format) can read them.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <pcre2.h>

typedef struct {
    fy_str_t   name;
    unsigned   number;
} fy_http_regex_name_t;

struct fy_http_regex_s {
    pcre2_code              *code;
    fy_str_t                 source;     /* the pattern as written */
    unsigned                 captures;   /* number of groups */
    fy_http_regex_name_t    *names;      /* named groups */
    unsigned                 nnames;
    fy_http_regex_t         *next;       /* the configuration's list */
};

struct fy_http_captures_s {
    const fy_http_regex_t   *re;
    const u_char            *subject;
    unsigned                 n;          /* offset pairs in ov */
    size_t                   ov[];
};

/* The worker's match data, sized for the largest regex matched yet. */
static pcre2_match_data  *fy_regex_md;
static uint32_t           fy_regex_md_pairs;

static void
fy_http_regex_free(void *data)
{
    fy_http_regex_t  *re = data;

    pcre2_code_free(re->code);
}

fy_http_regex_t *
fy_http_regex_compile(fy_conf_t *cf, const fy_str_t *pattern, int caseless)
{
    fy_http_main_conf_t  *hmcf = cf->cycle ? ((fy_cycle_t *) cf->cycle)->http
                                            : NULL;
    fy_http_regex_t      *re;
    PCRE2_UCHAR           msg[256];
    PCRE2_SPTR            table;
    PCRE2_SIZE            erroff;
    uint32_t              count, nnames, entry, i;
    int                   err;

    re = fy_pcalloc(cf->pool, sizeof(fy_http_regex_t));
    if (re == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    re->source = *pattern;

    re->code = pcre2_compile((PCRE2_SPTR) pattern->data, pattern->len,
                             caseless ? PCRE2_CASELESS : 0, &err, &erroff,
                             NULL);
    if (re->code == NULL) {
        pcre2_get_error_message(err, msg, sizeof(msg));
        fy_conf_error(cf, "invalid regex \"%s\": %s at offset %zu",
                      pattern->data, (char *) msg, (size_t) erroff);
        return NULL;
    }
    if (fy_pool_cleanup_add(cf->pool, fy_http_regex_free, re) != FY_OK) {
        pcre2_code_free(re->code);
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }

    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &nnames);
    re->captures = count;

    if (nnames) {
        pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
        pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
        re->names = fy_palloc(cf->pool, nnames * sizeof(*re->names));
        if (re->names == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return NULL;
        }
        /* Each entry: the group number in two bytes, then the name,
         * NUL-terminated. */
        for (i = 0; i < nnames; i++) {
            const u_char  *e = (const u_char *) table + i * entry;

            re->names[i].number = (unsigned) (e[0] << 8 | e[1]);
            re->names[i].name.data = (u_char *) e + 2;
            re->names[i].name.len = strlen((const char *) e + 2);
        }
        re->nnames = nnames;
    }

    if (hmcf) {
        re->next = hmcf->regexes;
        hmcf->regexes = re;
    }
    return re;
}

fy_http_regex_t *
fy_http_regex_compile_arg(fy_conf_t *cf, const fy_str_t *arg, int caseless)
{
    fy_str_t  re;
    int       star;

    star = arg->len > 1 && arg->data[1] == '*';
    re.data = arg->data + 1 + star;
    re.len = arg->len - 1 - star;
    return fy_http_regex_compile(cf, &re, caseless || star);
}

void
fy_http_regex_jit(fy_cycle_t *cycle)
{
    fy_http_regex_t  *re;
    int               rc;

    for (re = cycle->http->regexes; re; re = re->next) {
        /* Without JIT support (not built in, or no executable memory)
         * pcre2_match interprets the pattern: slower, same results. */
        rc = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
        if (rc != 0) {
            fy_log_error(FY_LOG_INFO, 0, "pcre2_jit_compile() failed: %d in "
                         "\"%s\", ignored", rc, re->source.data);
        }
    }
}

void
fy_http_regex_jit_report(fy_cycle_t *cycle)
{
    fy_http_regex_t  *re;
    size_t            size;
    unsigned          n = 0, jit = 0;

    for (re = cycle->http ? cycle->http->regexes : NULL; re; re = re->next) {
        n++;
        size = 0;
        (void) pcre2_pattern_info(re->code, PCRE2_INFO_JITSIZE, &size);
        jit += size != 0;
    }
    if (jit) {
        fy_log_error(FY_LOG_INFO, 0, "pcre JIT enabled for %u of %u "
                     "regexes", jit, n);
    }
}

int
fy_http_regex_exec(fy_http_request_t *r, const fy_http_regex_t *re,
                   const fy_str_t *subject, fy_http_captures_t **captures)
{
    return fy_http_regex_match(r ? r->pool : NULL, re, subject, captures);
}

int
fy_http_regex_match(fy_pool_t *pool, const fy_http_regex_t *re,
                    const fy_str_t *subject, fy_http_captures_t **captures)
{
    fy_http_captures_t  *caps;
    PCRE2_SIZE          *ov;
    uint32_t             pairs = re->captures + 1;
    unsigned             i;
    int                  rc;

    if (fy_regex_md == NULL || fy_regex_md_pairs < pairs) {
        if (fy_regex_md) {
            pcre2_match_data_free(fy_regex_md);
        }
        fy_regex_md = pcre2_match_data_create(fy_max(pairs, 10), NULL);
        if (fy_regex_md == NULL) {
            fy_regex_md_pairs = 0;
            return FY_ERROR;
        }
        fy_regex_md_pairs = pcre2_get_ovector_count(fy_regex_md);
    }

    rc = pcre2_match(re->code, (PCRE2_SPTR) subject->data, subject->len, 0,
                     0, fy_regex_md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return FY_DECLINED;
    }
    if (rc < 0) {
        fy_log_error(FY_LOG_ERR, 0, "pcre2_match() failed (%d) on \"%.*s\" "
                     "with regex \"%s\"", rc, (int) subject->len,
                     subject->data, re->source.data);
        return FY_ERROR;
    }

    if (re->captures == 0 || captures == NULL) {
        /* Nothing to read later (or nobody to read them: SNI): the captures of an earlier match
         * (an outer location, the server name) stay, as in nginx. */
        return FY_OK;
    }

    caps = fy_palloc(pool, sizeof(*caps) + 2 * pairs * sizeof(size_t));
    if (caps == NULL) {
        return FY_ERROR;
    }
    caps->re = re;
    caps->subject = subject->data;
    caps->n = pairs;
    ov = pcre2_get_ovector_pointer(fy_regex_md);
    for (i = 0; i < 2 * pairs; i++) {
        caps->ov[i] = ov[i];
    }
    *captures = caps;
    return FY_OK;
}

unsigned
fy_http_regex_captures(const fy_http_regex_t *re)
{
    return re->captures;
}

/* fastcgi_split_path_info: match subject with re (two groups, checked
 * at load) and give the groups' values, empty for one that did not
 * take part.  As nginx, $1..$9 are left as they were.  FY_OK,
 * FY_DECLINED (no match), FY_ERROR (logged). */
int
fy_http_regex_split(const fy_http_regex_t *re, const fy_str_t *subject,
                    fy_str_t *one, fy_str_t *two)
{
    PCRE2_SIZE  *ov;
    fy_str_t    *out[2] = { one, two };
    unsigned     i;
    int          rc;

    if (fy_regex_md == NULL || fy_regex_md_pairs < re->captures + 1) {
        if (fy_regex_md) {
            pcre2_match_data_free(fy_regex_md);
        }
        fy_regex_md = pcre2_match_data_create(fy_max(re->captures + 1, 10),
                                              NULL);
        if (fy_regex_md == NULL) {
            fy_regex_md_pairs = 0;
            return FY_ERROR;
        }
        fy_regex_md_pairs = pcre2_get_ovector_count(fy_regex_md);
    }
    rc = pcre2_match(re->code, (PCRE2_SPTR) subject->data, subject->len, 0,
                     0, fy_regex_md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return FY_DECLINED;
    }
    if (rc < 0) {
        fy_log_error(FY_LOG_ERR, 0, "pcre2_match() failed (%d) on \"%.*s\" "
                     "with regex \"%s\"", rc, (int) subject->len,
                     subject->data, re->source.data);
        return FY_ERROR;
    }
    ov = pcre2_get_ovector_pointer(fy_regex_md);
    for (i = 0; i < 2; i++) {
        out[i]->len = 0;
        out[i]->data = subject->data;
        if ((int) i + 1 < rc && ov[2 * i + 2] != PCRE2_UNSET
            && ov[2 * i + 3] >= ov[2 * i + 2])
        {
            out[i]->data = subject->data + ov[2 * i + 2];
            out[i]->len = ov[2 * i + 3] - ov[2 * i + 2];
        }
    }
    return FY_OK;
}

/* The value of group n of caps, or 0 (empty) when it did not take part. */
static size_t
fy_http_capture_copy(const fy_http_captures_t *caps, unsigned n,
                     u_char *buf, size_t size)
{
    size_t  from, to;

    if (caps == NULL || n >= caps->n) {
        return 0;
    }
    from = caps->ov[2 * n];
    to = caps->ov[2 * n + 1];
    if (from == PCRE2_UNSET || to < from) {
        return 0;
    }
    if (buf) {
        memcpy(buf, caps->subject + from, fy_min(size, to - from));
    }
    return to - from;
}

static int
fy_http_capture_number(const fy_http_captures_t *caps, const fy_str_t *name)
{
    unsigned  i;

    for (i = 0; caps && i < caps->re->nnames; i++) {
        if (caps->re->names[i].name.len == name->len
            && memcmp(caps->re->names[i].name.data, name->data,
                      name->len) == 0)
        {
            return (int) caps->re->names[i].number;
        }
    }
    return -1;
}

/* $1..$9 read the location's match, or the server_name's when the
 * location is not a regex with captures; $NAME reads whichever of the
 * two has a group of that name, the location's first. */
static size_t
fy_http_capture_get(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
                    size_t size)
{
    int  n;

    if (arg->data[0] >= '0' && arg->data[0] <= '9') {
        return fy_http_capture_copy(r->captures ? r->captures
                                                : r->srv_captures,
                                    arg->data[0] - '0', buf, size);
    }
    n = fy_http_capture_number(r->captures, arg);
    if (n >= 0) {
        return fy_http_capture_copy(r->captures, (unsigned) n, buf, size);
    }
    n = fy_http_capture_number(r->srv_captures, arg);
    if (n >= 0) {
        return fy_http_capture_copy(r->srv_captures, (unsigned) n, buf, size);
    }
    return 0;
}

size_t
fy_http_captures_get(const fy_http_captures_t *caps, const fy_str_t *name,
                     u_char *buf, size_t size)
{
    int  n;

    if (name->len == 1 && name->data[0] >= '0' && name->data[0] <= '9') {
        return fy_http_capture_copy(caps, name->data[0] - '0', buf, size);
    }
    n = fy_http_capture_number(caps, name);
    return n >= 0 ? fy_http_capture_copy(caps, (unsigned) n, buf, size) : 0;
}

int
fy_http_regex_has_name(const fy_http_regex_t *re, const u_char *name,
                       size_t len)
{
    unsigned  i;

    for (i = 0; i < re->nnames; i++) {
        if (re->names[i].name.len == len
            && memcmp(re->names[i].name.data, name, len) == 0)
        {
            return 1;
        }
    }
    return 0;
}

static const fy_http_pvariable_t  fy_http_capture_variable = {
    "", fy_http_capture_get
};

int
fy_http_cv_part_is_capture(const fy_http_cv_part_t *part)
{
    return part->pvar == &fy_http_capture_variable && part->arg.len == 1
           && part->arg.data[0] >= '0' && part->arg.data[0] <= '9';
}

const fy_http_pvariable_t *
fy_http_regex_variable(fy_conf_t *cf, const u_char *name, size_t len)
{
    fy_http_main_conf_t  *hmcf = cf->cycle ? ((fy_cycle_t *) cf->cycle)->http
                                            : NULL;
    const fy_http_regex_t *re;

    if (len == 1 && name[0] >= '1' && name[0] <= '9') {
        return &fy_http_capture_variable;
    }
    for (re = hmcf ? hmcf->regexes : NULL; re; re = re->next) {
        if (fy_http_regex_has_name(re, name, len)) {
            return &fy_http_capture_variable;
        }
    }
    return NULL;
}
