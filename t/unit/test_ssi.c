/*
 * test_ssi.c -- fy_http_ssi_parser_t, the SSI command parser: what it
 * finds in a body (text, commands with their parameters, invalid
 * commands) written out as a string, checked against the expected one
 * for the body whole and cut into pieces at every position (two
 * pieces, three pieces, byte by byte).
 */
#include "fy_core.h"
#include "fy_http_ssi_parse.h"
#include "fy_tap.h"

static fy_pool_t  *pool;

/* Text as is, a command as {name a=[v] b=[w]}, an invalid one as {!}. */
static void
render(fy_http_ssi_parser_t *p, int rc, const u_char *t, size_t l, char *out)
{
    unsigned  i;
    size_t    n = strlen(out);

    if (rc == FY_SSI_TEXT) {
        memcpy(out + n, t, l);
        out[n + l] = '\0';
    } else if (rc == FY_SSI_INVALID) {
        strcat(out, "{!}");
    } else if (rc == FY_SSI_COMMAND) {
        n += sprintf(out + n, "{%.*s", (int) p->command_len, p->command);
        for (i = 0; i < p->nparams; i++) {
            n += sprintf(out + n, " %.*s=[%.*s]",
                         (int) p->params[i].name_len, p->params[i].name,
                         (int) p->params[i].value_len, p->params[i].value);
        }
        strcat(out, "}");
    }
}

/* Parse in cut at cuts[0..ncuts) (ascending) into out. */
static void
run(const char *in, const size_t *cuts, unsigned ncuts, size_t value_max,
    char *out)
{
    fy_http_ssi_parser_t  p;
    const u_char         *pos, *end, *t;
    size_t                len = strlen(in), from = 0, to, l;
    unsigned              k;
    int                   rc;

    *out = '\0';
    fy_http_ssi_parser_init(&p, pool, value_max);
    for (k = 0; k <= ncuts; k++) {
        to = (k < ncuts) ? cuts[k] : len;
        pos = (const u_char *) in + from;
        end = (const u_char *) in + to;
        while ((rc = fy_http_ssi_parse(&p, &pos, end, &t, &l))
               != FY_SSI_MORE)
        {
            render(&p, rc, t, l, out);
        }
        from = to;
    }
    if (fy_http_ssi_parse_end(&p, &t, &l)) {
        render(&p, FY_SSI_TEXT, t, l, out);
    }
}

/* want for in, whole and cut everywhere. */
static void
check(const char *in, const char *want, size_t value_max)
{
    static char  got[4096];
    size_t       len = strlen(in), cuts[4096], i, j;
    int          bad = 0;

    run(in, NULL, 0, value_max, got);
    is_str(got, want, "whole: %s", in);

    for (i = 1; i < len && !bad; i++) {
        cuts[0] = i;
        run(in, cuts, 1, value_max, got);
        bad = strcmp(got, want) != 0;
    }
    for (i = 1; i < len && !bad; i++) {
        for (j = i + 1; j < len && !bad; j++) {
            cuts[0] = i;
            cuts[1] = j;
            run(in, cuts, 2, value_max, got);
            bad = strcmp(got, want) != 0;
        }
    }
    for (i = 0; i + 1 < len; i++) {
        cuts[i] = i + 1;
    }
    if (!bad && len > 1) {
        run(in, cuts, len - 1, value_max, got);
        bad = strcmp(got, want) != 0;
    }
    ok(!bad, "every cut: %s", in);
    if (bad) {
        printf("#   got: '%s'\n", got);
    }
}

int
main(void)
{
    pool = fy_pool_create(4096);

    check("plain text, no commands", "plain text, no commands", 256);
    check("<b>a < b <!-- c --> <!-</b>", "<b>a < b <!-- c --> <!-</b>", 256);
    check("x<!--# echo var=\"a\" -->y", "x{echo var=[a]}y", 256);
    check("<!--#echo var='a'-->", "{echo var=[a]}", 256);
    check("<!--#  include virtual=\"/a?b=1\"  wait=\"yes\"\t-->",
          "{include virtual=[/a?b=1] wait=[yes]}", 256);
    check("<!--# set var = \"v\" value=\"x \\\"q\\\" \\\\ \\n\" -->",
          "{set var=[v] value=[x \"q\" \\ \\n]}", 256);
    check("<!--# if expr='$a = /x\"y/' -->", "{if expr=[$a = /x\"y/]}", 256);
    check("<!--# endif -->a<!--# else-->", "{endif}a{else}", 256);
    check("<<!--<!--# endblock -->", "<<!--{endblock}", 256);
    check("a<!--#", "a", 256);
    check("a<!--#echo var=\"x", "a", 256);
    check("a<!--", "a<!--", 256);
    /* invalid commands: skipped to their "-->" */
    check("a<!--# -->b", "a{!}b", 256);
    check("a<!--#echo var=x -->b", "a{!}b", 256);
    check("a<!--#echo var=\"x\"y=\"z\" -->b", "a{!}b", 256);
    check("a<!--#echo var=\"x\" -- >b--->c", "a{!}c", 256);
    check("a<!--#echo var=\"abcd\" -->b", "a{!}b", 3);
    check("a<!--#echo var=\"abc\" -->b", "a{echo var=[abc]}b", 3);
    check("<!--# aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -->",  /* 33 */
          "{!}", 256);
    check("<!--# a a='' b='' c='' d='' e='' f='' g='' h='' i='' j='' k=''"
          " l='' m='' n='' o='' p='' q='' -->", "{!}", 256);

    fy_pool_destroy(pool);
    return done_testing();
}
