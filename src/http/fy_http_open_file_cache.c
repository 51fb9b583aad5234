/*
 * fy_http_open_file_cache.c -- nginx's open_file_cache directives,
 * accepted with their values checked as nginx checks them, without
 * effect:
 *
 *   open_file_cache off | max=N [inactive=TIME];   http, server, location
 *   open_file_cache_valid TIME;
 *   open_file_cache_min_uses N;
 *   open_file_cache_errors on | off;
 *
 * nginx's cache keeps descriptors, sizes and times of files it opened
 * (and with _errors, the failures) for up to open_file_cache_valid, so
 * it may serve a file for a while after it changed.  ferry opens and
 * stats the file for every request (fy_http_static.c), which is what
 * nginx does for a file that is not in its cache - and nginx may drop
 * any entry at any time (max=, inactive=), so a client can always get
 * that answer from nginx too.  Ignoring the cache therefore changes no
 * answer a client may get; it only costs the open() and fstat() the
 * cache would save.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char *
fy_http_open_file_cache(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned  *seen = (unsigned *) ((char *) conf + cmd->offset);
    fy_str_t  *a, v;
    unsigned   i;
    int        max = 0;

    if (*seen) {
        return "is duplicate";
    }
    *seen = 1;

    if (fy_str_eq(&cf->args[1], "off")) {
        if (cf->nargs != 2) {
            fy_conf_error(cf, "invalid \"open_file_cache\" parameter \"%s\"",
                          cf->args[2].data);
            return FY_CONF_ERROR;
        }
        return FY_CONF_OK;
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 4 && memcmp(a->data, "max=", 4) == 0) {
            max = (int) fy_atoi(a->data + 4, a->len - 4);
            if (max <= 0) {
                goto invalid;
            }
        } else if (a->len > 9 && memcmp(a->data, "inactive=", 9) == 0) {
            v.data = a->data + 9;
            v.len = a->len - 9;
            if (fy_conf_parse_msec(&v) < 0) {
                goto invalid;
            }
        } else {
            goto invalid;
        }
    }
    if (max == 0) {
        return "must have the \"max\" parameter";
    }
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid \"open_file_cache\" parameter \"%s\"",
                  a->data);
    return FY_CONF_ERROR;
}

const fy_command_t  fy_http_open_file_cache_commands[] = {

    { "open_file_cache", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 2,
      fy_http_open_file_cache, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, open_file_cache_seen), NULL },

    { "open_file_cache_valid", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_conf_set_msec, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, open_file_cache_valid), NULL },

    { "open_file_cache_min_uses", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_conf_set_int, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, open_file_cache_min_uses), NULL },

    { "open_file_cache_errors", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, open_file_cache_errors), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_open_file_cache_init_conf(fy_http_loc_conf_t *lcf)
{
    lcf->open_file_cache_valid = FY_CONF_UNSET_MSEC;
    lcf->open_file_cache_min_uses = FY_CONF_UNSET_INT;
    lcf->open_file_cache_errors = FY_CONF_UNSET_INT;
}
