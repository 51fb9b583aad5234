/*
 * fy_unit_conf.h -- for the unit tests that read a configuration text
 * with a directive table of their own (test_syslog, test_geo_table):
 * one call reads the text in a fresh pool, in the main context.
 */
#ifndef FY_UNIT_CONF_H
#define FY_UNIT_CONF_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"

static fy_pool_t      *fy_unit_pool;
static fy_conf_t       fy_unit_cf;
static fy_conf_ctx_t   fy_unit_ctx;

/* text read with tables, in a new pool (the one of the last call is
 * freed); FY_OK, or FY_ERROR (logged) */
static inline int
fy_unit_conf_parse(const fy_command_t *const *tables, const char *text)
{
    fy_pool_destroy(fy_unit_pool);
    fy_unit_pool = fy_pool_create(4096);
    fy_conf_init(&fy_unit_cf, fy_unit_pool);
    fy_unit_cf.tables = tables;
    fy_unit_cf.ctx = &fy_unit_ctx;
    fy_unit_cf.ctx_type = FY_CONF_MAIN;
    return fy_conf_parse_string(&fy_unit_cf, text, "str");
}

/* the last pool freed, at the end of a test */
static inline void
fy_unit_conf_done(void)
{
    fy_pool_destroy(fy_unit_pool);
    fy_unit_pool = NULL;
}

#endif /* FY_UNIT_CONF_H */
