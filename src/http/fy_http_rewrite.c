/*
 * fy_http_rewrite.c -- running a script of the rewrite module's
 * operations (fy_http_rewrite.h) for a request, as nginx's rewrite
 * phases do: the server's before the location is searched
 * (fy_http_route), the location's before allow/deny, try_files and
 * the content (fy_http_run_location).
 *
 *   rewrite  the regex against $uri (r->path); on a match the
 *            replacement is the new URI, or a redirect when it starts
 *            with http://, https:// or $scheme or the flag says so.
 *            The request's arguments follow the new ones unless the
 *            replacement ended with "?".  last: stop, search the
 *            location again; break: stop, stay; no flag: go on (and
 *            in a location, search again at the end).
 *   return   answer now.
 *   set      give a variable its value for this request.
 *   if       run the block when the condition holds, then go on; in
 *            a location the block's conf becomes the request's
 *            (r->loc) for everything after the rewrite directives.
 *   break    stop.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_rewrite.h"

#include <sys/stat.h>

#define FY_RW_GO    0              /* next operation */
#define FY_RW_STOP  1              /* last, break: stop the script */

/* nginx: when the request's path came with %-escapes or '+' (so the
 * captures hold decoded bytes), $1..$9 are escaped again where they go
 * into a redirect or into the arguments ("?...") of the replacement:
 * bytes outside printable ASCII and space " # % & + ; ? become %XX. */
static int
fy_http_rw_quoted(fy_http_request_t *r)
{
    size_t  i;

    for (i = 0; i < r->uri.len && r->uri.data[i] != '?'; i++) {
        if (r->uri.data[i] == '%' || r->uri.data[i] == '+') {
            return 1;
        }
    }
    return 0;
}

static int
fy_http_rw_args_unsafe(u_char ch)
{
    return ch <= ' ' || ch >= 0x7f || ch == '#' || ch == '%' || ch == '&'
           || ch == '+' || ch == ';' || ch == '?';
}

/* The capture's bytes, escaped, at p (NULL: only counted). */
static size_t
fy_http_rw_escape(u_char *p, const u_char *src, size_t len)
{
    static const u_char  hex[] = "0123456789ABCDEF";
    size_t               i, n = 0;

    for (i = 0; i < len; i++) {
        if (!fy_http_rw_args_unsafe(src[i])) {
            if (p) {
                p[n] = src[i];
            }
            n++;
            continue;
        }
        if (p) {
            p[n] = '%';
            p[n + 1] = hex[src[i] >> 4];
            p[n + 2] = hex[src[i] & 0xf];
        }
        n += 3;
    }
    return n;
}

/* The replacement of op for r, its captures escaped as nginx does;
 * *qpos: where the first "?" written by the replacement's own text is
 * (*len when none).  Only that one starts the arguments, as in nginx:
 * a "?" a capture or variable brings (from "%3F") stays in the path. */
static u_char *
fy_http_rw_value(fy_http_request_t *r, const fy_http_rw_op_t *op,
                 int redirect, size_t *len, size_t *qpos)
{
    const fy_http_cv_t  *cv = op->value;
    u_char              *buf, *raw, *q;
    size_t               n, rn, total, qp;
    unsigned             i, pass;
    int                  args, quoted;

    if (!cv->has_vars) {
        q = memchr(cv->text.data, '?', cv->text.len);
        *len = cv->text.len;
        *qpos = q ? (size_t) (q - cv->text.data) : cv->text.len;
        return cv->text.data;
    }
    quoted = fy_http_rw_quoted(r);

    /* pass 0 sizes, pass 1 writes */
    buf = NULL;
    total = 0;
    qp = 0;
    for (pass = 0; pass < 2; pass++) {
        n = 0;
        args = 0;
        for (i = 0; i < cv->nparts; i++) {
            const fy_http_cv_part_t  *part = &cv->parts[i];

            if (!(quoted && fy_http_cv_part_is_capture(part)
                  && (redirect || args)))
            {
                if (!args && part->var == NULL && part->pvar == NULL
                    && part->map == NULL
                    && (q = memchr(part->lit.data, '?', part->lit.len)))
                {
                    args = 1;
                    qp = n + (size_t) (q - part->lit.data);
                }
                n += fy_http_cv_part_get(r, part, buf ? buf + n : NULL,
                                         buf ? total - n : 0);
                continue;
            }
            rn = fy_http_cv_part_len(r, part);
            raw = fy_palloc(r->pool, rn + 1);
            if (raw == NULL) {
                return NULL;
            }
            rn = fy_http_cv_part_get(r, part, raw, rn);
            n += fy_http_rw_escape(buf ? buf + n : NULL, raw, rn);
        }
        if (pass == 0) {
            total = n;
            buf = fy_palloc(r->pool, total + 1);
            if (buf == NULL) {
                return NULL;
            }
        }
    }
    *len = n;
    *qpos = args ? qp : n;
    return buf;
}

static int
fy_http_rw_hex(u_char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch |= 0x20;
    return (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
}

/* nginx decodes the path of a redirect that rewrite made (up to the
 * first "?") where a %XX is a printable character above '%'; the rest
 * stay escaped (a "%" not followed by two hex digits is dropped, as
 * there).  In place; returns the new length. */
static size_t
fy_http_rw_unescape_redirect(u_char *v, size_t len)
{
    size_t  i = 0, d = 0;
    int     h1, h2;

    while (i < len && v[i] != '?') {
        if (v[i] != '%') {
            v[d++] = v[i++];
            continue;
        }
        if (i + 1 >= len) {
            i++;
            break;
        }
        h1 = fy_http_rw_hex(v[i + 1]);
        if (h1 < 0) {
            i++;                        /* "%" dropped */
            continue;
        }
        if (i + 2 >= len) {
            i += 2;
            break;
        }
        h2 = fy_http_rw_hex(v[i + 2]);
        if (h2 < 0) {
            i += 2;                     /* "%X" dropped */
            continue;
        }
        if (h1 * 16 + h2 > '%' && h1 * 16 + h2 < 0x7f) {
            v[d++] = (u_char) (h1 * 16 + h2);
        } else {
            v[d++] = v[i];
            v[d++] = v[i + 1];
            v[d++] = v[i + 2];
        }
        i += 3;
    }
    while (i < len) {
        v[d++] = v[i++];
    }
    return d;
}

/* The new URI of a rewrite that is not a redirect: the path
 * normalised as a request's (which keeps it inside "/"), the
 * arguments as nginx makes them.  FY_OK or FY_ERROR (answered). */
static int
fy_http_rw_new_uri(fy_http_request_t *r, const fy_http_rw_op_t *op,
                   u_char *v, size_t len, size_t qpos)
{
    fy_str_t   path, args;
    u_char    *q, *p;

    path.data = v;
    path.len = len;
    args.data = NULL;
    args.len = 0;
    q = qpos < len ? v + qpos : NULL;
    if (q) {
        path.len = (size_t) (q - v);
        args.data = q + 1;
        args.len = len - path.len - 1;
        if (!op->noargs && r->args.len) {
            p = fy_palloc(r->pool, args.len + 1 + r->args.len);
            if (p == NULL) {
                fy_http_send_error(r, 500);
                return FY_ERROR;
            }
            memcpy(p, args.data, args.len);
            p[args.len] = '&';
            memcpy(p + args.len + 1, r->args.data, r->args.len);
            args.data = p;
            args.len += 1 + r->args.len;
        }
    } else if (!op->noargs) {
        args = r->args;
    }
    if (args.len == 0) {
        args.data = NULL;
    }

    if (fy_http_normalize_path(r->pool, &path) != FY_OK) {
        fy_log_error(FY_LOG_ERR, 0, "rewrite: invalid URI \"%.*s\" made "
                     "from \"%.*s\", client %s", (int) len, v,
                     (int) op->source.len, op->source.data,
                     r->hc->addr_text);
        fy_http_send_error(r, 500);
        return FY_ERROR;
    }
    r->path = path;
    r->args = args;
    r->internal = 1;        /* proxy_pass without a URI part sends r->path */
    r->redirected = 1;      /* as nginx: "internal" locations let it in */
    return FY_OK;
}

/* A redirect made by rewrite: the replacement, and the request's
 * arguments after it unless it ended with "?". */
static void
fy_http_rw_redirect(fy_http_request_t *r, const fy_http_rw_op_t *op,
                    u_char *v, size_t len, int has_args,
                    fy_http_loc_conf_t *lcf)
{
    u_char  *p;
    int      code = op->flag == FY_RW_PERMANENT ? 301 : 302;

    if (!op->noargs && r->args.len) {
        p = fy_palloc(r->pool, len + 1 + r->args.len);
        if (p == NULL) {
            fy_http_send_error(r, 500);
            return;
        }
        memcpy(p, v, len);
        /* "&" only after arguments of the replacement's own text */
        p[len] = has_args ? '&' : '?';
        memcpy(p + len + 1, r->args.data, r->args.len);
        v = p;
        len += 1 + r->args.len;
    }
    if (lcf->rewrite_log == 1) {
        fy_log_error(FY_LOG_NOTICE, 0, "rewritten redirect: \"%.*s\", "
                     "client %s", (int) len, v, r->hc->addr_text);
    }
    fy_http_return_text(r, code, v, len);
}

/* rewrite: FY_RW_GO, FY_RW_STOP, or FY_DONE (answered). */
static int
fy_http_rw_rewrite(fy_http_request_t *r, const fy_http_rw_op_t *op,
                   fy_http_loc_conf_t *lcf)
{
    fy_str_t   uri = r->path;
    u_char    *v;
    size_t     len;
    size_t     qpos;
    int        rc, redirect, has_args;

    rc = fy_http_regex_exec(r, op->regex, &uri, &r->captures);
    if (lcf->rewrite_log == 1 && rc != FY_ERROR) {
        fy_log_error(FY_LOG_NOTICE, 0, "\"%.*s\" %s \"%.*s\", client %s",
                     (int) op->source.len, op->source.data,
                     rc == FY_OK ? "matches" : "does not match",
                     (int) uri.len, uri.data, r->hc->addr_text);
    }
    if (rc == FY_DECLINED) {
        return FY_RW_GO;
    }
    if (rc != FY_OK) {
        fy_http_send_error(r, 500);
        return FY_DONE;
    }

    redirect = op->absolute || op->flag == FY_RW_REDIRECT
               || op->flag == FY_RW_PERMANENT;
    v = fy_http_rw_value(r, op, redirect, &len, &qpos);
    if (v == NULL) {
        fy_http_send_error(r, 500);
        return FY_DONE;
    }
    if (redirect) {
        if (v == op->value->text.data) {
            v = fy_palloc(r->pool, len + 1);
            if (v == NULL) {
                fy_http_send_error(r, 500);
                return FY_DONE;
            }
            memcpy(v, op->value->text.data, len);
        }
        has_args = qpos < len;
        len = fy_http_rw_unescape_redirect(v, len);
        fy_http_rw_redirect(r, op, v, len, has_args, lcf);
        return FY_DONE;
    }

    if (fy_http_rw_new_uri(r, op, v, len, qpos) != FY_OK) {
        return FY_DONE;
    }
    if (lcf->rewrite_log == 1) {
        fy_log_error(FY_LOG_NOTICE, 0, "rewritten data: \"%.*s\", "
                     "args: \"%.*s\", client %s", (int) r->path.len,
                     r->path.data, (int) r->args.len,
                     r->args.data ? r->args.data : (u_char *) "",
                     r->hc->addr_text);
    }
    if (op->flag == FY_RW_BRK) {
        r->uri_changed = 0;
        r->rewritten = 1;
        return FY_RW_STOP;
    }
    r->uri_changed = 1;
    return op->flag == FY_RW_LAST ? FY_RW_STOP : FY_RW_GO;
}

/* Does the condition of an "if" hold?  -1: error (answered 500). */
static int
fy_http_rw_test(fy_http_request_t *r, const fy_http_rw_op_t *op,
                fy_http_loc_conf_t *lcf)
{
    fy_str_t      s;
    u_char       *o, *path;
    size_t        olen;
    struct stat   st;
    int           rc, yes;

    s.data = fy_http_cv_eval(r, op->value, &s.len);
    if (s.data == NULL) {
        return -1;
    }

    switch (op->flag) {

    case FY_RW_IF_VAR:
        return !(s.len == 0 || (s.len == 1 && s.data[0] == '0'));

    case FY_RW_IF_EQ:
        o = fy_http_cv_eval(r, op->operand, &olen);
        if (o == NULL) {
            return -1;
        }
        yes = olen == s.len && memcmp(o, s.data, s.len) == 0;
        return yes ^ op->negate;

    case FY_RW_IF_REGEX:
        rc = fy_http_regex_exec(r, op->regex, &s, &r->captures);
        if (rc == FY_ERROR) {
            return -1;
        }
        if (lcf->rewrite_log == 1) {
            fy_log_error(FY_LOG_NOTICE, 0, "\"%.*s\" %s \"%.*s\", client %s",
                         (int) op->source.len, op->source.data,
                         rc == FY_OK ? "matches" : "does not match",
                         (int) s.len, s.data, r->hc->addr_text);
        }
        return (rc == FY_OK) ^ op->negate;

    default:
        /* -f -d -e -x: the value is a file name (NUL-terminated) */
        path = fy_palloc(r->pool, s.len + 1);
        if (path == NULL) {
            return -1;
        }
        memcpy(path, s.data, s.len);
        path[s.len] = '\0';
        if (stat((char *) path, &st) != 0) {
            yes = 0;
        } else if (op->flag == FY_RW_IF_FILE) {
            yes = S_ISREG(st.st_mode);
        } else if (op->flag == FY_RW_IF_DIR) {
            yes = S_ISDIR(st.st_mode);
        } else if (op->flag == FY_RW_IF_EXEC) {
            yes = access((char *) path, X_OK) == 0;
        } else {
            yes = 1;
        }
        return yes ^ op->negate;
    }
}

/* The operations of script: FY_RW_GO (all done), FY_RW_STOP or
 * FY_DONE. */
static int
fy_http_rw_exec(fy_http_request_t *r, fy_http_rw_script_t *script,
                fy_http_loc_conf_t *lcf)
{
    fy_http_rw_op_t  *op;
    u_char           *v;
    size_t            len;
    unsigned          i;
    int               rc;

    for (i = 0; i < script->ops.nelts; i++) {
        op = fy_array_elt(&script->ops, fy_http_rw_op_t, i);

        switch (op->type) {

        case FY_RW_REWRITE:
            rc = fy_http_rw_rewrite(r, op, lcf);
            if (rc != FY_RW_GO) {
                return rc;
            }
            break;

        case FY_RW_RETURN:
            v = NULL;
            len = 0;
            if (op->value) {
                v = fy_http_cv_eval(r, op->value, &len);
                if (v == NULL) {
                    fy_http_send_error(r, 500);
                    return FY_DONE;
                }
            }
            fy_http_return_text(r, op->code, v, len);
            return FY_DONE;

        case FY_RW_SET:
            v = fy_http_cv_eval(r, op->value, &len);
            if (v == NULL) {
                fy_http_send_error(r, 500);
                return FY_DONE;
            }
            if (op->set_args) {
                /* proxy_pass without a URI part then sends path and
                 * these, not the target as received (nginx) */
                r->args.data = len ? v : NULL;
                r->args.len = len;
                r->internal = 1;
            } else if (op->set_limit_rate) {
                fy_http_limit_rate_assign(r, v, len);
            } else if (op->set_uid_reset) {
                fy_http_userid_reset_assign(r, v, len);
            } else if (fy_http_map_assign(r, op->var, v, len) != FY_OK) {
                fy_http_send_error(r, 500);
                return FY_DONE;
            }
            break;

        case FY_RW_IF:
            rc = fy_http_rw_test(r, op, lcf);
            if (rc < 0) {
                fy_http_send_error(r, 500);
                return FY_DONE;
            }
            if (rc) {
                /* nginx: the block's conf is the request's from now
                 * on (the last of several that hold wins), and the
                 * location's directives after the if still run */
                if (op->loc) {
                    r->loc = op->loc;
                }
                rc = fy_http_rw_exec(r, op->block, lcf);
                if (rc != FY_RW_GO) {
                    return rc;
                }
            }
            break;

        default:  /* FY_RW_BREAK */
            r->uri_changed = 0;
            return FY_RW_STOP;
        }
    }
    return FY_RW_GO;
}

int
fy_http_rewrite_run(fy_http_request_t *r, fy_http_rw_script_t *script,
                    fy_http_loc_conf_t *lcf)
{
    int  rc;

    r->uri_changed = 0;
    rc = fy_http_rw_exec(r, script, lcf);
    if (rc == FY_DONE) {
        return FY_DONE;
    }
    /* In a location, a new URI (last, or no flag) is searched for
     * again; the server's are searched for next anyway. */
    if (r->uri_changed) {
        r->uri_changed = 0;
        r->rewritten = 0;
        return FY_AGAIN;
    }
    return FY_DECLINED;
}
