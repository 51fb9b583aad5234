/*
 * fy_http_ssi.c -- nginx's ssi module: the directives, whether a
 * response is processed, a subrequest's body captured for `include`,
 * and a static document read whole and answered once processed.
 *
 *     ssi                on | off;        # off; also in "if"
 *     ssi_types          text/plain ...;  # text/html, always; or *
 *     ssi_silent_errors  on | off;        # off
 *     ssi_value_length   256;
 *     ssi_last_modified  on | off;        # off
 *     ssi_min_file_chunk 1k;              # accepted: no effect (no
 *                                         # sendfile of SSI output)
 *
 * The processing is fy_http_ssi_exec.c.  Each directive is inherited on
 * its own by a level without it.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

#include <unistd.h>

static void *fy_http_ssi_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf);

#define FY_SSI_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
/* a row's setter runs on the level's ssi settings (fy_http_module_set) */
#define FY_SSI_SET(set)                                                    \
    &(const fy_http_module_set_t) { fy_http_ssi_conf, set, NULL }

const fy_command_t  fy_http_ssi_commands[] = {

    { "ssi", FY_SSI_ANY | FY_CONF_LIF, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, enable),
      FY_SSI_SET(fy_conf_set_flag) },

    { "ssi_silent_errors", FY_SSI_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, silent_errors),
      FY_SSI_SET(fy_conf_set_flag) },

    { "ssi_last_modified", FY_SSI_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, last_modified),
      FY_SSI_SET(fy_conf_set_flag) },

    { "ssi_value_length", FY_SSI_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, value_len),
      FY_SSI_SET(fy_conf_set_size) },

    { "ssi_min_file_chunk", FY_SSI_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, min_file_chunk),
      FY_SSI_SET(fy_conf_set_size) },

    { "ssi_types", FY_SSI_ANY, 0, 1, FY_CONF_MANY, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_ssi_conf_t, types),
      FY_SSI_SET(fy_http_types_set) },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* The level's own settings, made on first use. */
static void *
fy_http_ssi_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->ssi == NULL) {
        lcf->ssi = fy_pcalloc(cf->pool, sizeof(fy_http_ssi_conf_t));
        if (lcf->ssi) {
            lcf->ssi->enable = FY_CONF_UNSET_INT;
            lcf->ssi->silent_errors = FY_CONF_UNSET_INT;
            lcf->ssi->last_modified = FY_CONF_UNSET_INT;
            lcf->ssi->value_len = FY_CONF_UNSET_SIZE;
            lcf->ssi->min_file_chunk = FY_CONF_UNSET_SIZE;
        }
    }
    return lcf->ssi;
}

/* Called from fy_http_merge_loc for every level, parent first: a level
 * without any ssi directive shares its parent's settings. */
void
fy_http_ssi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_ssi_conf_t  *c = conf->ssi, *p = prev->ssi;

    if (c == NULL) {
        conf->ssi = p;
        return;
    }
    if (c == p) {
        p = NULL;               /* the http level merged with itself */
    }
    if (c->types.list == NULL && p) {
        c->types = p->types;
    }
    if (c->enable == FY_CONF_UNSET_INT) {
        c->enable = p ? p->enable : 0;
    }
    if (c->silent_errors == FY_CONF_UNSET_INT) {
        c->silent_errors = p ? p->silent_errors : 0;
    }
    if (c->last_modified == FY_CONF_UNSET_INT) {
        c->last_modified = p ? p->last_modified : 0;
    }
    if (c->value_len == FY_CONF_UNSET_SIZE) {
        c->value_len = p ? p->value_len : 256;
    }
    if (c->min_file_chunk == FY_CONF_UNSET_SIZE) {
        c->min_file_chunk = p ? p->min_file_chunk : 1024;
    }
}

int
fy_http_ssi_applies(fy_http_request_t *r, const fy_str_t *type)
{
    const fy_http_ssi_conf_t  *sc;

    return r->loc && (sc = r->loc->ssi) != NULL && sc->enable
           && fy_http_types_match(&sc->types, type);
}


int
fy_http_capture_add(fy_pool_t *pool, fy_http_capture_t *c,
                    const u_char *data, size_t len)
{
    u_char  *nd;
    size_t   size;

    if (c->too_big || len == 0) {
        return FY_OK;
    }
    if (len > c->max - c->len) {
        c->too_big = 1;
        return FY_OK;
    }
    if (c->len + len > c->size) {
        size = c->size ? c->size : 4096;
        while (size < c->len + len) {
            size *= 2;
        }
        nd = fy_palloc(pool, size);
        if (nd == NULL) {
            return FY_ERROR;
        }
        if (c->len) {
            memcpy(nd, c->data, c->len);
        }
        c->data = nd;
        c->size = size;
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    return FY_OK;
}

int
fy_http_ssi_read(fy_http_request_t *r, int fd, off_t from, off_t size,
                 u_char **out)
{
    u_char   *buf;
    ssize_t   n;
    off_t     at = 0;

    if (size > FY_HTTP_SSI_MAX) {
        return FY_DECLINED;
    }
    buf = fy_palloc(r->pool, (size_t) size + 1);
    if (buf == NULL) {
        return FY_ERROR;
    }
    while (at < size) {
        n = pread(fd, buf + at, (size_t) (size - at), from + at);
        if (n <= 0) {
            fy_log_error(FY_LOG_CRIT, n == 0 ? 0 : errno, "pread() of an "
                         "SSI document failed, client %s", r->hc->addr_text);
            return FY_ERROR;
        }
        at += n;
    }
    *out = buf;
    return FY_OK;
}

void
fy_http_capture_file(fy_http_request_t *r, fy_http_static_file_t *f,
                     off_t size, const fy_str_t *type)
{
    fy_http_capture_t  *c = r->capture;
    u_char             *data = NULL;
    int                 rc;

    if (type) {
        c->type = *type;
    }
    /* closed at once: a document may include many files, and the
     * request's pool (whose cleanup would close it) lives on */
    rc = fy_http_ssi_read(r, f->fd, 0, size, &data);
    fy_http_static_file_close(f);
    switch (rc) {
    case FY_OK:
        if (fy_http_capture_add(r->pool, c, data, (size_t) size) == FY_OK) {
            break;
        }
        /* fall through */
    case FY_ERROR:
        fy_http_subrequest_done(r, 500);
        return;
    case FY_DECLINED:
        c->too_big = 1;
        break;
    }
    fy_http_subrequest_done(r, r->err_status ? r->err_status : 200);
}


typedef struct {
    fy_http_request_t  *r;
    fy_str_t            type;
    int                 status;
} fy_http_ssi_doc_t;

/* The document's output: answered whole, with its length (gzip and
 * sub_filter then apply to it as to any whole body). */
static void
fy_http_ssi_static_done(void *arg, const u_char *out, size_t len)
{
    fy_http_ssi_doc_t  *d = arg;

    if (out == NULL) {
        fy_http_send_error(d->r, 500);
        return;
    }
    d->r->ssi_done = 1;
    fy_http_send_response(d->r, d->status, &d->type, out, len, NULL);
}

void
fy_http_ssi_response(fy_http_request_t *r, int status, const fy_str_t *type,
                     const u_char *body, size_t len)
{
    fy_http_ssi_doc_t  *d;

    d = fy_palloc(r->pool, sizeof(*d));
    if (d == NULL) {
        fy_http_close_connection(r->hc);
        return;
    }
    d->r = r;
    d->type = *type;            /* the caller's may be on its stack */
    d->status = status;
    r->ssi_done = 1;            /* an error page of a failure: as it is */
    fy_http_ssi_process(r, body, len, fy_http_ssi_static_done, d);
}

int
fy_http_ssi_static(fy_http_request_t *r, int fd, off_t size, time_t mtime,
                   const fy_str_t *type)
{
    fy_http_ssi_doc_t  *d;
    u_char             *data;

    if (!fy_http_ssi_applies(r, type) || size == 0) {
        return FY_DECLINED;
    }
    d = fy_palloc(r->pool, sizeof(*d));
    if (d == NULL) {
        fy_http_send_error(r, 500);
        return FY_OK;
    }
    d->r = r;
    d->type = *type;
    d->status = r->err_status ? r->err_status : 200;
    r->ssi_done = 1;            /* its answer is not processed again */
    switch (fy_http_ssi_read(r, fd, 0, size, &data)) {
    case FY_DECLINED:
        fy_log_error(FY_LOG_ERR, 0, "SSI document of %lld bytes is bigger "
                     "than %d, client %s", (long long) size,
                     FY_HTTP_SSI_MAX, r->hc->addr_text);
        /* fall through */
    case FY_ERROR:
        fy_http_send_error(r, 500);
        return FY_OK;
    }
    if (r->loc->ssi->last_modified) {
        /* ssi_last_modified on: the file's date stays (nginx) */
        r->send_last_modified = 1;
        r->last_modified = mtime;
    }
    fy_http_ssi_process(r, data, (size_t) size, fy_http_ssi_static_done, d);
    return FY_OK;
}
