/*
 * test_memcached.c -- memcached's text protocol as memcached_pass
 * speaks it (fy_http_memcached_proto.c): the key escaped as nginx
 * escapes it, the answer's first line (hit, miss, errors, a VALUE for
 * another key, bad numbers), and the trailer after a value checked
 * however the reads split it.
 */
#include "fy_core.h"
#include "fy_http_memcached.h"
#include "fy_tap.h"

static int
line(const char *text, const char *key, fy_memc_value_t *v)
{
    return fy_memc_parse_line((const u_char *) text, strlen(text),
                              (const u_char *) key, strlen(key), v);
}

/* The trailer fed in pieces of `step` bytes, rest counted down: ok? */
static int
trailer_in_pieces(const char *bytes, size_t len, size_t step)
{
    uint64_t  rest = len;
    size_t    at, n;
    int       good = 1;

    for (at = 0; at < len; at += n) {
        n = len - at < step ? len - at : step;
        good &= fy_memc_trailer_ok((const u_char *) bytes + at, n, rest);
        rest -= n;
    }
    return good;
}

int
main(void)
{
    u_char           buf[256], all[256], *q;
    fy_memc_value_t  v;
    const char      *key = "/a b%c\t";
    size_t           i, step;
    int              good;

    /* the key */
    is_int(fy_memc_key_len((const u_char *) "/plain", 6), 6,
           "a plain key is not escaped");
    is_int(fy_memc_key_len((const u_char *) key, strlen(key)),
           strlen(key) + 6, "space, %% and tab: two bytes more each");
    q = fy_memc_key_put(buf, (const u_char *) key, strlen(key));
    ok((size_t) (q - buf) == 13 && memcmp(buf, "/a%20b%25c%09", 13) == 0,
       "... written %%20, %%25, %%09");
    for (i = 0; i < 256; i++) {
        all[i] = (u_char) i;
    }
    is_int(fy_memc_key_len(all, 256), 256 + 2 * 34,
           "of all 256 bytes, 0-32 and %% are escaped (nginx's table)");
    q = fy_memc_key_put(buf, all + 0x7f, 1);
    ok(q - buf == 1 && buf[0] == 0x7f, "DEL and above go as they are");

    /* the first line */
    is_int(line("END", "/k", &v), FY_MEMC_END, "END: a miss");
    is_int(line("VALUE /k 5 12", "/k", &v), FY_MEMC_VALUE, "a hit");
    ok(v.flags == 5 && v.length == 12 && v.length_len == 2
       && memcmp(v.length_text, "12", 2) == 0,
       "... its flags and length, the length's digits as they came");
    is_int(line("VALUE /k 4294967295 0", "/k", &v), FY_MEMC_VALUE,
           "32-bit flags, an empty value");
    ok(v.flags == 4294967295LL && v.length == 0, "... read as such");
    is_int(line("VALUE /other 0 3", "/k", &v), FY_MEMC_BAD_KEY,
           "a VALUE for another key");
    is_int(line("VALUE /kk 0 3", "/k", &v), FY_MEMC_BAD_KEY,
           "... or one the key is a prefix of");
    is_int(line("VALUE /k", "/k", &v), FY_MEMC_BAD_KEY, "no flags at all");
    is_int(line("VALUE /k 0", "/k", &v), FY_MEMC_INVALID, "no length");
    is_int(line("VALUE /k x 3", "/k", &v), FY_MEMC_BAD_FLAGS, "bad flags");
    is_int(line("VALUE /k 0 3 77", "/k", &v), FY_MEMC_BAD_LENGTH,
           "a CAS number after the length (gets): a bad length");
    is_int(line("VALUE /k 0 -3", "/k", &v), FY_MEMC_BAD_LENGTH,
           "a negative length");
    is_int(line("SERVER_ERROR out of memory", "/k", &v), FY_MEMC_INVALID,
           "SERVER_ERROR");
    is_int(line("ERROR", "/k", &v), FY_MEMC_INVALID, "ERROR");
    is_int(line("END ", "/k", &v), FY_MEMC_INVALID, "END with a space");
    is_int(line("", "/k", &v), FY_MEMC_INVALID, "an empty line");

    /* the trailer, whatever the reads */
    good = 1;
    for (step = 1; step <= 8; step++) {
        good &= trailer_in_pieces("\r\nEND\r\n", 7, step);
    }
    ok(good, "\"\\r\\nEND\\r\\n\" in pieces of 1 to 8 bytes");
    good = 1;
    for (step = 1; step <= 11; step++) {
        good &= trailer_in_pieces("data\r\nEND\r\n", 11, step);
    }
    ok(good, "after 4 bytes of value, in pieces of 1 to 11");
    ok(fy_memc_trailer_ok((const u_char *) "value", 5, 100),
       "value bytes far from the end are not looked at");
    good = 0;
    for (step = 1; step <= 11; step++) {
        good += !trailer_in_pieces("data\r\nEMD\r\n", 11, step);
    }
    is_int(good, 11, "a wrong byte in it is found in every split");
    ok(!trailer_in_pieces("data\r\nEND\n\n", 11, 11),
       "LF for CR at its end too");
    ok(!fy_memc_trailer_ok((const u_char *) "\n", 1, 7),
       "its first byte alone, wrong");

    return done_testing();
}
