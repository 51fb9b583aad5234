/*
 * fy_stream_set.c -- "set $variable VALUE;" in a stream server (nginx
 * 1.19.3's ngx_stream_set_module).  At the session's preaccess phase,
 * before limit_conn, each "set" of the server in the order written
 * evaluates VALUE (text with stream variables) and stores it as the
 * session's value of the variable (fy_stream_var_store).  The
 * variable is one of the config's (fy_stream_var_define, with no
 * eval): a session of a server without its "set" reads it empty, or
 * the value of the map, geo or split_clients of that name (nginx's are
 * changeable: a "set" of one wins in its server's sessions).  Several
 * "set"s, in one server or several, may set one variable; a built-in
 * one may not be set ("the duplicate" variable, as nginx's).
 */
#include "fy_core.h"
#include "fy_stream.h"

typedef struct {
    int              var;
    fy_stream_cv_t  *value;
} fy_stream_set_t;

static const char *fy_stream_set_directive(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_stream_set_commands[] = {

    { "set", FY_CONF_STREAM_SRV, 0, 2, 2, fy_stream_set_directive,
      FY_CONF_SRV_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


int
fy_stream_set_each_value(fy_stream_main_conf_t *smcf,
                         int (*fn)(const fy_str_t *value, void *data),
                         void *data)
{
    fy_stream_srv_conf_t  *scf;
    fy_stream_set_t       *set;
    unsigned               i, k;

    for (i = 0; i < smcf->servers.nelts; i++) {
        scf = *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i);
        for (k = 0; scf->sets && k < scf->sets->nelts; k++) {
            set = fy_array_elt(scf->sets, fy_stream_set_t, k);
            if (set->value->n == 1
                && fn(&set->value->parts[0].lit, data) != FY_OK)
            {
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

/* set $variable VALUE */
static const char *
fy_stream_set_directive(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;
    fy_stream_set_t       *set;

    fy_unused(cmd);

    if (scf->sets == NULL) {
        scf->sets = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (scf->sets == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(scf->sets, cf->pool, 2, sizeof(fy_stream_set_t));
    }
    set = fy_array_push(scf->sets);
    if (set == NULL) {
        return "cannot allocate memory";
    }
    set->var = fy_stream_var_define(cf, &cf->args[1], NULL, NULL, NULL);
    if (set->var < 0) {
        return FY_CONF_ERROR;
    }
    set->value = fy_stream_cv_compile(cf, &cf->args[2]);
    return set->value ? FY_CONF_OK : FY_CONF_ERROR;
}

int
fy_stream_set_run(fy_stream_session_t *s)
{
    fy_stream_set_t  *set;
    u_char            buf[FY_STREAM_VALUE_MAX];
    size_t            len;
    unsigned          i;

    for (i = 0; i < s->scf->sets->nelts; i++) {
        set = fy_array_elt(s->scf->sets, fy_stream_set_t, i);
        len = fy_stream_cv_eval(s, set->value, buf, sizeof(buf));
        if (fy_stream_var_store(s, set->var, buf, len) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
}
