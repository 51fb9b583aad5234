/*
 * test_murmur.c -- nginx's MurmurHash2 (split_clients).  The expected
 * values come from an independent Perl implementation of the published
 * algorithm (32 bits, seed 0, words read little-endian; the same one
 * t/split_clients.t uses), covering every tail length.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_tap.h"

static void
hash(const char *s, size_t len, uint32_t want)
{
    is_int((long long) fy_murmur_hash2((const u_char *) s, len),
           (long long) want, "murmur2 of \"%.*s\" (%zu bytes)", (int) len, s,
           len);
}

int
main(void)
{
    hash("", 0, 0x00000000);
    hash("a", 1, 0x92685f5e);
    hash("ab", 2, 0x1aa14063);
    hash("abc", 3, 0x13577c9b);
    hash("abcd", 4, 0x26873021);
    hash("abcde", 5, 0x5f09a8de);
    hash("127.0.0.1AAA", 12, 0xb5fc5e4b);
    hash("The quick brown fox jumps over the lazy dog", 43, 0x212729d0);
    /* bytes above 0x7f are unsigned, as in nginx */
    hash("\xff\xfe\x80\x01x", 5, 0xde19aca2);
    return done_testing();
}
