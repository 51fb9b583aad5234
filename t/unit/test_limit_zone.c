/*
 * test_limit_zone.c -- the table inside a limit_req / limit_conn zone
 * (src/http/fy_http_limit_zone.c) on ordinary memory: sizing, insert
 * and find, a full zone, chains of keys with one hash, the LRU order
 * that eviction follows, freed nodes coming back, limit_conn's hold
 * nodes, and long keys kept as their SHA-256 apart from short ones.
 */

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"
#include "fy_tap.h"

#include <stdlib.h>

#define SIZE  (32 * 1024)

static fy_http_limit_node_t *
add(fy_http_limit_shm_t *shm, unsigned i, uint32_t hash)
{
    char  key[16];
    int   n = snprintf(key, sizeof(key), "k%u", i);

    return fy_http_limit_alloc(shm, (u_char *) key, (size_t) n, hash);
}

static fy_http_limit_node_t *
find(fy_http_limit_shm_t *shm, unsigned i, uint32_t hash)
{
    char  key[16];
    int   n = snprintf(key, sizeof(key), "k%u", i);

    return fy_http_limit_find(shm, (u_char *) key, (size_t) n, hash);
}

int
main(void)
{
    fy_http_limit_shm_t   *shm;
    fy_http_limit_node_t  *n, *first;
    unsigned               i, nn, found;
    size_t                 end;

    shm = aligned_alloc(FY_CACHELINE, SIZE);
    fy_http_limit_shm_init(shm, SIZE);

    ok(shm->nbuckets && (shm->nbuckets & (shm->nbuckets - 1)) == 0,
       "buckets: a power of two (%u)", shm->nbuckets);
    nn = shm->nnodes;
    end = fy_http_limit_nodes_offset(shm->nbuckets)
          + (size_t) nn * sizeof(fy_http_limit_node_t);
    ok(end <= SIZE && SIZE - end < sizeof(fy_http_limit_node_t),
       "the nodes fill the zone (%u of 128 bytes)", nn);
    is_int(sizeof(fy_http_limit_node_t), 128, "a node is 128 bytes");
    is_int(shm->used, 0, "empty at first");
    ok(find(shm, 1, 1) == NULL, "nothing found in an empty zone");

    /* fill it: every key distinct, hashes spread over a few buckets */
    for (i = 0; i < nn; i++) {
        if (add(shm, i, i % 5) == NULL) {
            break;
        }
    }
    is_int(i, nn, "every node can be taken");
    is_int(shm->used, nn, "used counts them");
    ok(add(shm, nn, 0) == NULL, "one more: the zone is full");

    found = 0;
    for (i = 0; i < nn; i++) {
        n = find(shm, i, i % 5);
        found += n != NULL && n->len == snprintf(NULL, 0, "k%u", i);
    }
    is_int(found, nn, "every key found in its chain");
    ok(find(shm, 3, 4) == NULL, "a key under another hash is not found");

    /* LRU: the oldest is the first added; touching moves it to the head */
    first = fy_http_limit_node(shm, shm->lru_tail);
    ok(first == find(shm, 0, 0), "the least recently used is the first added");
    fy_http_limit_touch(shm, first);
    ok(fy_http_limit_node(shm, shm->lru_head) == first,
       "touched: now the most recently used");
    ok(fy_http_limit_node(shm, shm->lru_tail) == find(shm, 1, 1),
       "the second added is the oldest now");

    /* free from the middle of a chain, then reuse */
    n = find(shm, 10, 0);
    fy_http_limit_free(shm, n);
    is_int(shm->used, nn - 1, "freed: one less used");
    ok(find(shm, 10, 0) == NULL, "freed key gone");
    ok(find(shm, 5, 0) != NULL && find(shm, 15, 0) != NULL,
       "its chain neighbours still found");
    n = add(shm, 100000, 0);
    ok(n != NULL, "the freed node is taken again");
    ok(find(shm, 100000, 0) == n, "and found under its key");
    ok(fy_http_limit_node(shm, shm->lru_head) == n, "at the LRU head");

    /* free everything through the LRU tail, as eviction does */
    while (shm->lru_tail != FY_LIMIT_NIL) {
        fy_http_limit_free(shm, fy_http_limit_node(shm, shm->lru_tail));
    }
    is_int(shm->used, 0, "all freed through the LRU tail");
    ok(shm->lru_head == FY_LIMIT_NIL, "LRU list empty");
    for (i = 0; i < nn; i++) {
        if (add(shm, i, 7) == NULL) {
            break;
        }
    }
    is_int(i, nn, "all nodes usable again, all in one chain");
    ok(find(shm, nn - 1, 7) != NULL && find(shm, 0, 7) != NULL,
       "a long chain is walked to its end");

    /* limit_conn's hold nodes: one per count, the count's node freed
     * with the last */
    fy_http_limit_shm_init(shm, SIZE);
    n = add(shm, 1, 1);
    n->conns = 2;
    first = fy_http_limit_hold(shm, fy_http_limit_index(shm, n), 4242);
    ok(first != NULL && first->len == 0 && first->last == 4242,
       "hold: no key, the holder's pid");
    ok(find(shm, 1, 1) == n, "a hold is not in the key's chain");
    ok(fy_http_limit_hold(shm, fy_http_limit_index(shm, n), 4243) != NULL,
       "a second hold");
    is_int(shm->used, 3, "the key and two holds in use");
    fy_http_limit_unhold(shm, first);
    is_int(n->conns, 1, "unhold: one count less");
    ok(find(shm, 1, 1) == n, "the key stays while counted");
    fy_http_limit_unhold(shm, fy_http_limit_node(shm, shm->lru_head));
    ok(find(shm, 1, 1) == NULL, "the last unhold frees the key");
    is_int(shm->used, 0, "nothing in use");

    /* a long key kept as its SHA-256: apart from a short key with the
     * same 32 bytes, found again by its digest */
    fy_http_limit_shm_init(shm, SIZE);
    {
        u_char  d[32];

        memset(d, 0xab, sizeof(d));
        n = fy_http_limit_alloc(shm, d, FY_LIMIT_KEY_DIGEST, 9);
        ok(n != NULL && n->len == FY_LIMIT_KEY_DIGEST
           && memcmp(n->key, d, 32) == 0, "digest key: its 32 bytes kept");
        ok(fy_http_limit_find(shm, d, 32, 9) == NULL,
           "a 32-byte key with the same bytes is another key");
        ok(fy_http_limit_find(shm, d, FY_LIMIT_KEY_DIGEST, 9) == n,
           "the digest key is found again");
        first = fy_http_limit_alloc(shm, d, 32, 9);
        ok(first != NULL && first != n
           && fy_http_limit_find(shm, d, 32, 9) == first
           && fy_http_limit_find(shm, d, FY_LIMIT_KEY_DIGEST, 9) == n,
           "both in one chain, each found as itself");
    }

    free(shm);
    return done_testing();
}
