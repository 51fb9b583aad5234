/*
 * test_geo_table.c -- a geo block's table (fy_http_geo_table.c), as
 * http's and stream's geo read it: networks by longest prefix (IPv4 and
 * IPv6), "default", "delete", a network given twice, "ranges" (a range
 * inside another cuts it, its "default", IPv6 addresses outside), the
 * values listed by fy_http_geo_table_each, fy_http_geo_text_addr, and
 * the lines refused.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"
#include "fy_http.h"
#include "fy_tap.h"
#include "fy_unit_conf.h"

#include <arpa/inet.h>


static fy_http_geo_table_t  *got;

/* "geo { ... }": the block read into a new table */
static const char *
set_geo(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    got = fy_http_geo_table_create(cf);
    if (got == NULL
        || fy_http_geo_table_read(cf, got, NULL, NULL) != FY_OK)
    {
        got = NULL;
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const fy_command_t  cmds[] = {
    { "geo", FY_CONF_ANY, FY_CONF_BLOCK, 0, 0, set_geo, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_command_t *const  tables[] = { cmds, NULL };

/* Parse "geo { BODY }" in a fresh pool; the table, or NULL if refused. */
static fy_http_geo_table_t *
parse(const char *body)
{
    char  text[2048];

    got = NULL;
    snprintf(text, sizeof(text), "geo { %s }", body);
    return fy_unit_conf_parse(tables, text) == FY_OK ? got : NULL;
}

/* The value for the address text ("-" for none). */
static const char *
find(const fy_http_geo_table_t *t, const char *addr)
{
    static char           buf[64];
    struct sockaddr_in6   sa;
    const fy_str_t       *v;
    uint8_t               a[16];
    int                   family;

    memset(a, 0, sizeof(a));
    if (fy_http_geo_text_addr((const u_char *) addr, strlen(addr), &sa)
        != FY_OK)
    {
        return "not an address";
    }
    family = sa.sin6_family;
    if (family == AF_INET) {
        memcpy(a, &((struct sockaddr_in *) (void *) &sa)->sin_addr, 4);
    } else {
        memcpy(a, &sa.sin6_addr, 16);
    }
    v = fy_http_geo_table_find(t, family, a);
    if (v == NULL) {
        return "-";
    }
    snprintf(buf, sizeof(buf), "%.*s", (int) v->len, (char *) v->data);
    return buf;
}

static int  n_values;

static int
count_value(const fy_str_t *value, void *data)
{
    fy_unused(value);
    fy_unused(data);
    n_values++;
    return FY_OK;
}


static void
test_networks(void)
{
    fy_http_geo_table_t  *t;

    t = parse("default zz; 10.0.0.0/8 ten; 10.1.0.0/16 ten-one;"
              " 10.1.2.3 host; 10.2.0.0/16 gone; delete 10.2.0.0/16;"
              " 192.168.0.0/16 first; 192.168.0.0/16 second;"
              " 2001:db8::/32 doc; ::1 local6;");
    ok(t != NULL, "a CIDR block read");
    if (t == NULL) {
        return;
    }
    is_str(find(t, "10.9.9.9"), "ten", "the /8");
    is_str(find(t, "10.1.9.9"), "ten-one", "a /16 inside it wins");
    is_str(find(t, "10.1.2.3"), "host", "a single address wins over both");
    is_str(find(t, "10.2.0.1"), "ten", "a deleted /16: the /8 again");
    is_str(find(t, "192.168.1.1"), "second", "given twice: the later value");
    is_str(find(t, "11.0.0.1"), "zz", "outside every network: default");
    is_str(find(t, "2001:db8::5"), "doc", "an IPv6 network");
    is_str(find(t, "::1"), "local6", "an IPv6 address");
    is_str(find(t, "2001:db9::1"), "zz", "IPv6 outside: default (::/0)");

    n_values = 0;
    ok(fy_http_geo_table_each(t, count_value, NULL) == FY_OK, "each");
    /* default twice (v4, v6), ten, ten-one, host, second, doc, local6 */
    is_int(n_values, 8, "each: every network left, default per family");

    t = parse("10.0.0.0/8 ten;");
    ok(t && strcmp(find(t, "11.0.0.1"), "-") == 0,
       "no default: no value");
    ok(t && strcmp(find(t, "::1"), "-") == 0, "nor for IPv6");
}


static void
test_ranges(void)
{
    fy_http_geo_table_t  *t;

    t = parse("ranges; default none; 10.0.0.0-10.0.0.255 low;"
              " 10.0.0.5-10.0.0.5 five; 10.0.1.0-10.0.1.9 next;"
              " 10.0.1.0-10.0.1.9 next-again;");
    ok(t != NULL, "a ranges block read");
    if (t == NULL) {
        return;
    }
    is_str(find(t, "10.0.0.4"), "low", "in a range");
    is_str(find(t, "10.0.0.5"), "five", "a range inside it cuts it");
    is_str(find(t, "10.0.0.6"), "low", "the outer range after the cut");
    is_str(find(t, "10.0.1.9"), "next-again", "a range given twice: later");
    is_str(find(t, "10.0.2.0"), "none", "outside every range: default");
    is_str(find(t, "::1"), "none", "an IPv6 address: the default");

    n_values = 0;
    fy_http_geo_table_each(t, count_value, NULL);
    is_int(n_values, 5, "each: default and the four ranges after the cut");

    t = parse("ranges; 10.0.0.0-10.0.0.9 a; delete 10.0.0.0-10.0.0.9;");
    ok(t && strcmp(find(t, "10.0.0.1"), "-") == 0, "a deleted range");
}


static void
test_refused(void)
{
    ok(parse("10.0.0.0/33 a;") == NULL, "a prefix over 32");
    ok(parse("::/129 a;") == NULL, "a prefix over 128");
    ok(parse("10.0.0.x a;") == NULL, "no address");
    ok(parse("10.0.0.0/8 a b;") == NULL, "three words");
    ok(parse("10.0.0.1 a; ranges;") == NULL, "ranges after a network");
    ok(parse("ranges; 10.0.0.9-10.0.0.1 a;") == NULL, "a range backwards");
    ok(parse("ranges; 10.0.0.1-10.0.0.9 a; 10.0.0.5-10.0.0.20 b;")
       == NULL, "overlapping ranges");
    ok(parse("ranges; ::1-::2 a;") == NULL, "an IPv6 range");
}


static void
test_text_addr(void)
{
    struct sockaddr_in6  sa;

    ok(fy_http_geo_text_addr((const u_char *) "127.0.0.1", 9, &sa) == FY_OK
       && sa.sin6_family == AF_INET, "IPv4 text");
    ok(fy_http_geo_text_addr((const u_char *) "::ffff:1.2.3.4", 14, &sa)
       == FY_OK && sa.sin6_family == AF_INET6, "IPv6 text");
    ok(fy_http_geo_text_addr((const u_char *) "1.2.3.4x", 7, &sa) == FY_OK,
       "only len bytes are read");
    ok(fy_http_geo_text_addr((const u_char *) "example", 7, &sa)
       == FY_ERROR, "a name is no address");
    ok(fy_http_geo_text_addr((const u_char *) "", 0, &sa) == FY_ERROR,
       "nor is nothing");
}


int
main(void)
{
    /* the refusals' [emerg] lines are the Perl tests' business */
    fy_log.level = 0;

    test_networks();
    test_ranges();
    test_refused();
    test_text_addr();
    fy_unit_conf_done();
    return done_testing();
}
