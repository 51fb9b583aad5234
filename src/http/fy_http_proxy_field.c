/*
 * fy_http_proxy_field.c -- what an upstream response's field name means
 * to the proxy, found once per field.
 *
 * Building the client's header asks several questions of each field
 * (is it Content-Length, Connection, hidden by default, hop-by-hop, one
 * gzip or a range replaces...).  Asked as string comparisons, loop
 * after loop, they were a sixth of the worker's instructions per
 * proxied request (callgrind, docs/performance.md); the kind found here
 * by length and one or two comparisons answers all of them.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_proxy.h"

#define fy_pf_is(d, lit) fy_mem_eq_ci(d, lit, sizeof(lit) - 1)

unsigned
fy_proxy_field_kind(const fy_str_t *name)
{
    const u_char  *d = name->data;

    switch (name->len) {
    case 2:
        return fy_pf_is(d, "TE") ? FY_PF_HOP : FY_PF_OTHER;
    case 4:
        if (fy_pf_is(d, "Date")) {
            return FY_PF_DATE;
        }
        if (fy_pf_is(d, "ETag")) {
            return FY_PF_ETAG;
        }
        return fy_pf_is(d, "Host") ? FY_PF_HOP : FY_PF_OTHER;
    case 5:
        return fy_pf_is(d, "X-Pad") ? FY_PF_X_PAD : FY_PF_OTHER;
    case 6:
        if (fy_pf_is(d, "Server")) {
            return FY_PF_SERVER;
        }
        if (fy_pf_is(d, "Status")) {
            return FY_PF_STATUS;
        }
        return fy_pf_is(d, "Expect") ? FY_PF_HOP : FY_PF_OTHER;
    case 7:
        if (fy_pf_is(d, "Upgrade")) {
            return FY_PF_UPGRADE;
        }
        return fy_pf_is(d, "Refresh") ? FY_PF_REFRESH : FY_PF_OTHER;
    case 8:
        if (fy_pf_is(d, "Location")) {
            return FY_PF_LOCATION;
        }
        break;                  /* "X-Accel-" alone is one, below */
    case 10:
        if (fy_pf_is(d, "Connection")) {
            return FY_PF_CONNECTION;
        }
        if (fy_pf_is(d, "Keep-Alive")) {
            return FY_PF_HOP;
        }
        break;
    case 13:
        if (fy_pf_is(d, "Accept-Ranges")) {
            return FY_PF_ACCEPT_RANGES;
        }
        if (fy_pf_is(d, "Content-Range")) {
            return FY_PF_CONTENT_RANGE;
        }
        break;
    case 14:
        if (fy_pf_is(d, "Content-Length")) {
            return FY_PF_CONTENT_LENGTH;
        }
        break;
    case 16:
        if (fy_pf_is(d, "Content-Encoding")) {
            return FY_PF_CONTENT_ENCODING;
        }
        if (fy_pf_is(d, "Proxy-Connection")) {
            return FY_PF_HOP;
        }
        break;
    case 17:
        if (fy_pf_is(d, "Transfer-Encoding")) {
            return FY_PF_TRANSFER_ENCODING;
        }
        break;
    case 18:
        if (fy_pf_is(d, "X-Accel-Limit-Rate")) {
            return FY_PF_X_ACCEL_LIMIT_RATE;
        }
        break;
    default:
        if (name->len < 8) {
            return FY_PF_OTHER;
        }
    }
    return name->len >= 8 && (d[0] | 0x20) == 'x' && fy_pf_is(d, "X-Accel-")
           ? FY_PF_X_ACCEL : FY_PF_OTHER;
}

/* Is an upstream response field kept from the client?  nginx hides
 * Date, Server, X-Pad and X-Accel-* unless proxy_pass_header names
 * them, and whatever proxy_hide_header names; its FastCGI, uwsgi and
 * SCGI modules hide Status (when a status line came too) and X-Accel-*
 * only. */
int
fy_proxy_hidden_kind(fy_http_loc_conf_t *lcf, const fy_str_t *name,
                     unsigned kind)
{
    fy_str_t  *n;
    unsigned   i;
    int        hide;

    hide = (int) ((fy_proxy_hidden_mask(lcf) >> kind) & 1);
    for (i = 0; !hide && lcf->hide_headers && i < lcf->hide_headers->nelts;
         i++)
    {
        n = fy_array_elt(lcf->hide_headers, fy_str_t, i);
        hide = n->len == name->len
               && fy_mem_eq_ci(name->data, (char *) n->data, name->len);
    }
    for (i = 0; hide && lcf->pass_headers && i < lcf->pass_headers->nelts;
         i++)
    {
        n = fy_array_elt(lcf->pass_headers, fy_str_t, i);
        hide = !(n->len == name->len
                 && fy_mem_eq_ci(name->data, (char *) n->data, name->len));
    }
    return hide;
}

int
fy_proxy_hidden(fy_http_loc_conf_t *lcf, const fy_str_t *name)
{
    return fy_proxy_hidden_kind(lcf, name, fy_proxy_field_kind(name));
}
