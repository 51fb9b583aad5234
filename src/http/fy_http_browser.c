/*
 * fy_http_browser.c -- nginx's browser module: "modern_browser",
 * "ancient_browser", "modern_browser_value", "ancient_browser_value"
 * and the variables $modern_browser, $ancient_browser and $msie, for
 *
 *     modern_browser gecko 1.0; modern_browser msie 5.5;
 *     modern_browser unlisted;
 *     ancient_browser Links Lynx netscape4;
 *     if ($ancient_browser) { rewrite ^ /ancient.html; }
 *
 * A request is "modern" or "ancient" (never both) by its User-Agent,
 * as nginx 1.22 decides (checked against it):
 *   - no User-Agent: modern with "modern_browser unlisted", else
 *     ancient;
 *   - the modern_browser entries, in the order of nginx's browser table
 *     (opera, msie, gecko, safari, konqueror) and of the config within
 *     one browser: the first whose name is in the User-Agent (looked
 *     for from a fixed offset, as the table says) decides: modern when
 *     the version after it is at least the entry's, else ancient.
 *     Versions are X, X.X, X.X.X or X.X.X.X, compared as one number
 *     with two digits per part after the first.  Opera also says
 *     "MSIE": when no opera entry is given, an Opera is ancient;
 *   - none found: ancient, unless "modern_browser unlisted";
 *   - then ancient when the User-Agent contains an ancient_browser
 *     string, or, with "netscape4", starts "Mozilla/" and a version
 *     1 to 4;
 *   - else modern with "unlisted", ancient without.
 * $modern_browser is modern_browser_value ("1") for a modern one and
 * empty otherwise; $ancient_browser likewise.  $msie is "1" when the
 * User-Agent has "MSIE " (and two bytes more) and no "Opera".
 * A level without modern_browser lines takes the modern list and
 * "unlisted" from the level above; one without ancient_browser takes
 * the ancient strings and "netscape4" (nginx).  Nothing here runs
 * unless one of the variables is read.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <strings.h>

/* nginx's browser table: where its name is looked for in the
 * User-Agent (from skip bytes on) and where the version starts after
 * it (add bytes on).  Opera first: its User-Agent may say "MSIE". */
typedef struct {
    const char  *browser;
    size_t       skip;
    size_t       add;
    const char  *name;
} fy_http_browser_mask_t;

static const fy_http_browser_mask_t  fy_http_browser_masks[] = {
    { "opera",     0, sizeof("Opera ") - 1, "Opera" },
    { "msie",      sizeof("Mozilla/4.0 (compatible; ") - 1,
                   sizeof("MSIE ") - 1, "MSIE " },
    { "gecko",     sizeof("Mozilla/5.0 (") - 1, sizeof("rv:") - 1, "rv:" },
    { "safari",    sizeof("Mozilla/5.0 (") - 1, sizeof("Safari/") - 1,
                   "Safari/" },
    { "konqueror", sizeof("Mozilla/5.0 (compatible; ") - 1,
                   sizeof("Konqueror/") - 1, "Konqueror/" },
};

#define FY_BROWSER_NMASKS \
    (sizeof(fy_http_browser_masks) / sizeof(fy_http_browser_masks[0]))

/* an opera entry no Opera reaches, when none is configured (nginx) */
#define FY_BROWSER_OPERA_NEVER  4001000000ULL

#define FY_BROWSER_MODERN   0
#define FY_BROWSER_ANCIENT  1

typedef struct {
    unsigned   mask;            /* index in fy_http_browser_masks */
    uint64_t   version;
} fy_http_browser_modern_t;

struct fy_http_browser_conf_s {
    fy_array_t  *modern;        /* fy_http_browser_modern_t, NULL: none */
    fy_array_t  *ancient;       /* fy_str_t, NULL: none */
    fy_str_t     modern_value;  /* data NULL: not set here */
    fy_str_t     ancient_value;
    int          unlisted;      /* -1: not set here */
    int          netscape4;     /* -1: not set here */
};

static const char *fy_http_browser_modern(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_browser_ancient(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_browser_value(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_BROWSER_CTX  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_browser_commands[] = {

    { "modern_browser", FY_BROWSER_CTX, 0, 1, 2,
      fy_http_browser_modern, FY_CONF_LOC_OFF, 0, NULL },

    { "ancient_browser", FY_BROWSER_CTX, 0, 1, FY_CONF_MANY,
      fy_http_browser_ancient, FY_CONF_LOC_OFF, 0, NULL },

    { "modern_browser_value", FY_BROWSER_CTX, 0, 1, 1,
      fy_http_browser_value, FY_CONF_LOC_OFF,
      offsetof(struct fy_http_browser_conf_s, modern_value), NULL },

    { "ancient_browser_value", FY_BROWSER_CTX, 0, 1, 1,
      fy_http_browser_value, FY_CONF_LOC_OFF,
      offsetof(struct fy_http_browser_conf_s, ancient_value), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* This level's own browser conf, made on its first browser directive. */
static struct fy_http_browser_conf_s *
fy_http_browser_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    struct fy_http_browser_conf_s  *bc = lcf->browser;

    if (bc == NULL) {
        bc = fy_pcalloc(cf->pool, sizeof(*bc));
        if (bc == NULL) {
            return NULL;
        }
        bc->unlisted = -1;
        bc->netscape4 = -1;
        lcf->browser = bc;
    }
    return bc;
}

/* modern_browser unlisted | modern_browser BROWSER VERSION */
static const char *
fy_http_browser_modern(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_browser_conf_s  *bc;
    fy_http_browser_modern_t       *m;
    fy_str_t                       *v;
    uint64_t                        version = 0, ver = 0, scale = 1000000;
    unsigned                        n;
    size_t                          i;

    fy_unused(cmd);
    bc = fy_http_browser_conf(cf, conf);
    if (bc == NULL) {
        return "cannot allocate memory";
    }
    if (cf->nargs == 2) {
        if (!fy_str_eq(&cf->args[1], "unlisted")) {
            fy_conf_error(cf, "invalid parameter \"%s\", it must be "
                          "\"unlisted\" or a browser and its version",
                          cf->args[1].data);
            return FY_CONF_ERROR;
        }
        bc->unlisted = 1;
        return FY_CONF_OK;
    }

    for (n = 0; n < FY_BROWSER_NMASKS; n++) {
        if (fy_str_eq_ci(&cf->args[1], fy_http_browser_masks[n].browser)) {
            break;
        }
    }
    if (n == FY_BROWSER_NMASKS) {
        fy_conf_error(cf, "unknown browser name \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }

    v = &cf->args[2];
    for (i = 0; i < v->len; i++) {
        if (v->data[i] >= '0' && v->data[i] <= '9') {
            ver = ver * 10 + (uint64_t) (v->data[i] - '0');
        } else if (v->data[i] == '.') {
            version += ver * scale;
            ver = 0;
            scale /= 100;
        } else {
            fy_conf_error(cf, "invalid browser version \"%s\"", v->data);
            return FY_CONF_ERROR;
        }
    }

    if (bc->modern == NULL) {
        bc->modern = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (bc->modern == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(bc->modern, cf->pool, 4,
                      sizeof(fy_http_browser_modern_t));
    }
    m = fy_array_push(bc->modern);
    if (m == NULL) {
        return "cannot allocate memory";
    }
    m->mask = n;
    m->version = version + ver * scale;
    return FY_CONF_OK;
}

/* ancient_browser STRING ... (netscape4 among them) */
static const char *
fy_http_browser_ancient(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_browser_conf_s  *bc;
    fy_str_t                       *s;
    unsigned                        i;

    fy_unused(cmd);
    bc = fy_http_browser_conf(cf, conf);
    if (bc == NULL) {
        return "cannot allocate memory";
    }
    for (i = 1; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "netscape4")) {
            bc->netscape4 = 1;
            continue;
        }
        if (bc->ancient == NULL) {
            bc->ancient = fy_palloc(cf->pool, sizeof(fy_array_t));
            if (bc->ancient == NULL) {
                return "cannot allocate memory";
            }
            fy_array_init(bc->ancient, cf->pool, 4, sizeof(fy_str_t));
        }
        s = fy_array_push(bc->ancient);
        if (s == NULL) {
            return "cannot allocate memory";
        }
        *s = cf->args[i];
    }
    return FY_CONF_OK;
}

/* modern_browser_value STRING, ancient_browser_value STRING: the last
 * one given at a level counts, as in nginx */
static const char *
fy_http_browser_value(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_browser_conf_s  *bc;

    bc = fy_http_browser_conf(cf, conf);
    if (bc == NULL) {
        return "cannot allocate memory";
    }
    *(fy_str_t *) ((char *) bc + cmd->offset) = cf->args[1];
    return FY_CONF_OK;
}

void
fy_http_browser_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    struct fy_http_browser_conf_s  *bc = conf->browser, *pc = prev->browser;

    if (bc == NULL || bc == pc) {
        conf->browser = pc;
        return;
    }
    if (pc == NULL) {
        return;
    }
    if (bc->modern == NULL && bc->unlisted == -1) {
        bc->modern = pc->modern;
        bc->unlisted = pc->unlisted;
    }
    if (bc->ancient == NULL && bc->netscape4 == -1) {
        bc->ancient = pc->ancient;
        bc->netscape4 = pc->netscape4;
    }
    if (bc->modern_value.data == NULL) {
        bc->modern_value = pc->modern_value;
    }
    if (bc->ancient_value.data == NULL) {
        bc->ancient_value = pc->ancient_value;
    }
}


/* ---- per request ---- */

/* The entry's verdict on the User-Agent [ua, last): FY_BROWSER_*, or
 * -1 when its name is not there. */
static int
fy_http_browser_check(const u_char *ua, const u_char *last, unsigned mask,
                      uint64_t want)
{
    const fy_http_browser_mask_t  *bm = &fy_http_browser_masks[mask];
    const u_char                  *p;
    uint64_t                       version = 0, ver = 0, scale = 1000000;

    p = ua + bm->skip;
    if (p >= last) {
        return -1;
    }
    p = memmem(p, (size_t) (last - p), bm->name, strlen(bm->name));
    if (p == NULL) {
        return -1;
    }
    p += bm->add;
    if (p >= last) {
        return -1;
    }
    for ( ; p < last; p++) {
        if (*p >= '0' && *p <= '9') {
            ver = ver * 10 + (uint64_t) (*p - '0');
        } else if (*p == '.') {
            version += ver * scale;
            if (version > want) {
                return FY_BROWSER_MODERN;
            }
            ver = 0;
            scale /= 100;
        } else {
            break;
        }
    }
    return version + ver * scale >= want ? FY_BROWSER_MODERN
                                         : FY_BROWSER_ANCIENT;
}

static int
fy_http_browser_classify(fy_http_request_t *r,
                         const struct fy_http_browser_conf_s *bc)
{
    const fy_http_browser_modern_t  *m;
    const fy_str_t                  *h, *s;
    const u_char                    *ua, *last;
    unsigned                         n, i;
    int                              rc, opera;

    h = fy_http_header_find(&r->headers, "User-Agent");
    if (h == NULL) {
        return bc->unlisted == 1 ? FY_BROWSER_MODERN : FY_BROWSER_ANCIENT;
    }
    ua = h->data;
    last = ua + h->len;

    if (bc->modern) {
        for (n = 0; n < FY_BROWSER_NMASKS; n++) {
            opera = 0;
            for (i = 0; i < bc->modern->nelts; i++) {
                m = fy_array_elt(bc->modern, fy_http_browser_modern_t, i);
                if (m->mask != n) {
                    continue;
                }
                opera |= n == 0;
                rc = fy_http_browser_check(ua, last, n, m->version);
                if (rc >= 0) {
                    return rc;
                }
            }
            if (n == 0 && !opera
                && (rc = fy_http_browser_check(ua, last, 0,
                                               FY_BROWSER_OPERA_NEVER)) >= 0)
            {
                return rc;
            }
        }
        if (bc->unlisted != 1) {
            return FY_BROWSER_ANCIENT;
        }
    }

    if (bc->netscape4 == 1 && h->len > sizeof("Mozilla/4.72 ") - 1
        && memcmp(ua, "Mozilla/", 8) == 0 && ua[8] > '0' && ua[8] < '5')
    {
        return FY_BROWSER_ANCIENT;
    }
    for (i = 0; bc->ancient && i < bc->ancient->nelts; i++) {
        s = fy_array_elt(bc->ancient, fy_str_t, i);
        if (h->len >= s->len && memmem(ua, h->len, s->data, s->len)) {
            return FY_BROWSER_ANCIENT;
        }
    }
    return bc->unlisted == 1 ? FY_BROWSER_MODERN : FY_BROWSER_ANCIENT;
}

static size_t
fy_http_browser_var(fy_http_request_t *r, u_char *buf, size_t size,
                    int which)
{
    static const struct fy_http_browser_conf_s  none = {
        NULL, NULL, { 0, NULL }, { 0, NULL }, -1, -1
    };
    const struct fy_http_browser_conf_s  *bc = fy_http_req_loc(r)->browser;
    const fy_str_t                       *v;

    if (bc == NULL) {
        bc = &none;
    }
    if (fy_http_browser_classify(r, bc) != which) {
        return 0;
    }
    v = which == FY_BROWSER_MODERN ? &bc->modern_value : &bc->ancient_value;
    if (v->data == NULL) {
        if (buf && size) {
            buf[0] = '1';
        }
        return 1;
    }
    if (buf) {
        memcpy(buf, v->data, fy_min(size, v->len));
    }
    return v->len;
}

size_t
fy_http_browser_modern_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_browser_var(r, buf, size, FY_BROWSER_MODERN);
}

size_t
fy_http_browser_ancient_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_browser_var(r, buf, size, FY_BROWSER_ANCIENT);
}

/* $msie, as nginx marks a request when it reads its User-Agent */
size_t
fy_http_browser_msie_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const fy_str_t  *h = fy_http_header_find(&r->headers, "User-Agent");
    const u_char    *p;

    if (h == NULL || memmem(h->data, h->len, "Opera", 5)) {
        return 0;
    }
    p = memmem(h->data, h->len, "MSIE ", 5);
    if (p == NULL || p + 7 >= h->data + h->len) {
        return 0;
    }
    if (buf && size) {
        buf[0] = '1';
    }
    return 1;
}
