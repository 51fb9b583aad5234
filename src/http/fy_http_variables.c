/*
 * fy_http_variables.c -- $variables and texts that contain them.
 *
 * A text such as "backend $pid answered $request_uri" is compiled once,
 * when the configuration is read, into literal and variable parts;
 * evaluating it per request is then one pass that sizes the result and
 * one that writes it.  Unknown variables are configuration errors.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <arpa/inet.h>

static size_t
fy_var_copy(u_char *buf, size_t size, const void *src, size_t len)
{
    if (buf) {
        memcpy(buf, src, fy_min(size, len));
    }
    return len;
}

static size_t
fy_var_pid(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[24];
    int   n;

    fy_unused(r);
    n = snprintf(tmp, sizeof(tmp), "%d", (int) getpid());
    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_remote_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->hc->addr_text, strlen(r->hc->addr_text));
}

static size_t
fy_var_remote_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[8];
    int   n = snprintf(tmp, sizeof(tmp), "%u", r->hc->port);

    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_request_uri(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->uri.data, r->uri.len);
}

static size_t
fy_var_uri(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->path.data, r->path.len);
}

static size_t
fy_var_args(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->args.data, r->args.len);
}

static size_t
fy_var_request_method(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->method_name.data, r->method_name.len);
}

/* nginx: the Host header without port, else the first server_name,
 * else the empty string. */
static size_t
fy_var_host(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_str_t  *name;

    if (r->host.len) {
        return fy_var_copy(buf, size, r->host.data, r->host.len);
    }
    if (r->srv && r->srv->names.nelts) {
        name = fy_array_elt(&r->srv->names, fy_str_t, 0);
        return fy_var_copy(buf, size, name->data, name->len);
    }
    return 0;
}

static size_t
fy_var_server_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[8];
    int   n = snprintf(tmp, sizeof(tmp), "%u",
                       ntohs(r->hc->ls->addr.sin6_port));

    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_server_protocol(fy_http_request_t *r, u_char *buf, size_t size)
{
    const char  *p = r->http_version == 1000 ? "HTTP/1.0" : "HTTP/1.1";

    return fy_var_copy(buf, size, p, 8);
}

static size_t
fy_var_scheme(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_var_copy(buf, size, "http", 4);
}

static const fy_http_variable_t  fy_http_variables[] = {
    { "pid",              fy_var_pid },
    { "remote_addr",      fy_var_remote_addr },
    { "remote_port",      fy_var_remote_port },
    { "request_uri",      fy_var_request_uri },
    { "uri",              fy_var_uri },
    { "args",             fy_var_args },
    { "request_method",   fy_var_request_method },
    { "host",             fy_var_host },
    { "server_port",      fy_var_server_port },
    { "server_protocol",  fy_var_server_protocol },
    { "scheme",           fy_var_scheme },
    { "upstream_addr",    fy_http_proxy_upstream_addr },
    { "upstream_status",  fy_http_proxy_upstream_status },
    { NULL, NULL }
};

const fy_http_variable_t *
fy_http_variable_find(const u_char *name, size_t len)
{
    const fy_http_variable_t  *v;

    for (v = fy_http_variables; v->name; v++) {
        if (strlen(v->name) == len && memcmp(v->name, name, len) == 0) {
            return v;
        }
    }
    return NULL;
}

static int
fy_is_var_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}

fy_http_cv_t *
fy_http_cv_compile(fy_conf_t *cf, const fy_str_t *text)
{
    fy_http_cv_t       *cv;
    fy_http_cv_part_t  *part;
    const u_char       *p, *end, *start, *name;
    size_t              nlen;
    unsigned            max;

    cv = fy_pcalloc(cf->pool, sizeof(fy_http_cv_t));
    /* At most one part per '$' plus one literal between each. */
    max = 1;
    for (p = text->data; p < text->data + text->len; p++) {
        max += (*p == '$') * 2;
    }
    if (cv == NULL
        || (cv->parts = fy_pcalloc(cf->pool, max * sizeof(*part))) == NULL)
    {
        return NULL;
    }
    cv->text = *text;

    p = text->data;
    end = text->data + text->len;

    while (p < end) {
        start = p;
        while (p < end && *p != '$') {
            p++;
        }
        if (p > start) {
            part = &cv->parts[cv->nparts++];
            part->lit.data = (u_char *) start;
            part->lit.len = (size_t) (p - start);
        }
        if (p == end) {
            break;
        }

        p++;   /* '$' */
        if (p < end && *p == '{') {
            name = ++p;
            while (p < end && *p != '}') {
                p++;
            }
            if (p == end) {
                fy_conf_error(cf, "the closing bracket in \"%.*s\" "
                              "variable is missing", (int) (p - name), name);
                return NULL;
            }
            nlen = (size_t) (p - name);
            p++;
        } else {
            name = p;
            while (p < end && fy_is_var_char(*p)) {
                p++;
            }
            nlen = (size_t) (p - name);
        }

        if (nlen == 0) {
            fy_conf_error(cf, "invalid variable name in \"%s\"", text->data);
            return NULL;
        }

        part = &cv->parts[cv->nparts++];
        part->var = fy_http_variable_find(name, nlen);
        if (part->var == NULL) {
            fy_conf_error(cf, "unknown \"%.*s\" variable", (int) nlen, name);
            return NULL;
        }
        cv->has_vars = 1;
    }
    return cv;
}

u_char *
fy_http_cv_eval(fy_http_request_t *r, const fy_http_cv_t *cv, size_t *len)
{
    const fy_http_cv_part_t  *part;
    u_char                   *buf, *p;
    size_t                    n = 0;
    unsigned                  i;

    if (!cv->has_vars) {
        *len = cv->text.len;
        return cv->text.data;
    }

    for (i = 0; i < cv->nparts; i++) {
        part = &cv->parts[i];
        n += part->var ? part->var->get(r, NULL, 0) : part->lit.len;
    }

    buf = fy_palloc(r->pool, n + 1);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;
    for (i = 0; i < cv->nparts; i++) {
        part = &cv->parts[i];
        if (part->var) {
            p += part->var->get(r, p, (size_t) (buf + n - p));
        } else {
            memcpy(p, part->lit.data, part->lit.len);
            p += part->lit.len;
        }
    }
    *len = (size_t) (p - buf);
    return buf;
}
