/*
 * fuzz_mp4.c -- the moov rewriter of the mp4 module (fy_mp4_cut), which
 * reads the moov atom of files it does not trust.
 *
 * Input: 8 bytes of settings (start and length in ms, 2 bytes each;
 * mp4_start_key_frame; where the mdat's data starts and ends, 1 byte
 * each, in KiB), the rest is the moov atom, copied into a buffer of its
 * exact size so a read past it is an ASan report.
 *
 * Checked: an answer is a moov atom whose size is what its header says
 * followed by an mdat header that counts the file range it gives, and
 * that range lies inside the mdat; an error always says why (the pool
 * never runs out here).
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_http_mp4.h"
#include "fy_fuzz.h"

#define FY_FUZZ_MP4_MAX  FY_FUZZ_MAX_LEN

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_mp4_cut_t   cut;
    fy_pool_t     *pool;
    const char    *err;
    u_char        *moov, *out;
    size_t         len, out_len, mlen;
    uint64_t       s, e, mdat;
    int            rc;

    if (size < 8 || size > FY_FUZZ_MP4_MAX) {
        return 0;
    }
    memset(&cut, 0, sizeof(cut));
    cut.start = (uint64_t) data[0] << 8 | data[1];
    cut.length = (uint64_t) data[2] << 8 | data[3];
    cut.key_frame = data[4] & 1;
    cut.mdat_data = (uint64_t) data[5] * 1024;
    cut.mdat_end = cut.mdat_data + (uint64_t) (data[6] + 1) * 1024
                   * (data[7] & 0x80 ? 4096 : 1);
    len = size - 8;

    moov = malloc(len ? len : 1);
    memcpy(moov, data + 8, len);
    pool = fy_pool_create(4096);

    rc = fy_mp4_cut(pool, NULL, 0, moov, len, &cut, &out, &out_len, &s, &e,
                    &err);
    if (rc != FY_OK) {
        fy_fuzz_assert(rc == FY_ERROR && err != NULL);
    } else {
        fy_fuzz_assert(out_len >= 16 && memcmp(out + 4, "moov", 4) == 0);
        mlen = (size_t) ((uint64_t) out[0] << 24 | (uint64_t) out[1] << 16
                         | (uint64_t) out[2] << 8 | out[3]);
        fy_fuzz_assert(mlen + 8 == out_len || mlen + 16 == out_len);
        fy_fuzz_assert(memcmp(out + mlen + 4, "mdat", 4) == 0);
        fy_fuzz_assert(cut.mdat_data <= s && s <= e && e <= cut.mdat_end);
        if (mlen + 8 == out_len) {
            mdat = (uint64_t) out[mlen] << 24 | (uint64_t) out[mlen + 1] << 16
                   | (uint64_t) out[mlen + 2] << 8 | out[mlen + 3];
            fy_fuzz_assert(mdat == e - s + 8);
        }
    }

    fy_pool_destroy(pool);
    free(moov);
    return 0;
}
