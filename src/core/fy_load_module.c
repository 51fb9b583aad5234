/*
 * fy_load_module.c -- nginx's "load_module FILE;" (main), as the files
 * in Debian's /etc/nginx/modules-enabled carry it:
 *
 *   load_module modules/ngx_stream_module.so;
 *
 * ferry loads no shared objects: what it has is built in.  So the
 * file's name is mapped to the nginx module it holds (the name without
 * its directory and ".so"); a module ferry builds in is accepted with
 * a start-up warning naming the file and line, as loading it changes
 * nothing, and any other is refused with its name, file and line: a
 * configuration that needs a module ferry lacks cannot be served as
 * written, and starting without it would fail later and less clearly.
 */
#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_core_tuning.h"

/* nginx's modules that can be built as shared objects and that ferry
 * builds in, with what gives them in ferry. */
static const struct {
    const char  *module;
    const char  *in_ferry;
} fy_load_module_builtin[] = {
    { "ngx_stream_module", "the \"stream\" block" },
    { NULL, NULL }
};

static const char *fy_load_module(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

const fy_command_t  fy_load_module_commands[] = {
    { "load_module", FY_CONF_MAIN, 0, 1, 1, fy_load_module, FY_CONF_MAIN_OFF,
      0, NULL },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const char *
fy_load_module(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_str_t  *file = &cf->args[1];
    const u_char    *name, *end;
    char             what[128], why[160];
    size_t           len;
    unsigned         i;

    (void) cmd;
    (void) conf;
    name = file->data;
    end = file->data + file->len;
    for (const u_char *p = name; p < end; p++) {
        if (*p == '/') {
            name = p + 1;
        }
    }
    len = (size_t) (end - name);
    if (len > 3 && memcmp(end - 3, ".so", 3) == 0) {
        len -= 3;
    }
    for (i = 0; fy_load_module_builtin[i].module != NULL; i++) {
        if (strlen(fy_load_module_builtin[i].module) == len
            && memcmp(fy_load_module_builtin[i].module, name, len) == 0)
        {
            snprintf(what, sizeof(what), "load_module %.*s",
                     (int) fy_min(file->len, 100), file->data);
            snprintf(why, sizeof(why), "%s is built in (%s)",
                     fy_load_module_builtin[i].module,
                     fy_load_module_builtin[i].in_ferry);
            fy_conf_ignored(cf, what, why);
            return FY_CONF_OK;
        }
    }
    fy_conf_error(cf, "module \"%.*s\" of \"load_module %s\" is not built "
                  "into ferry, and ferry loads no modules", (int) len, name,
                  file->data);
    return FY_CONF_ERROR;
}
