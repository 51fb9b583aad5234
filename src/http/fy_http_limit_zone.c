/*
 * fy_http_limit_zone.c -- the shared zones of limit_req_zone and
 * limit_conn_zone: their names in the configuration, their mappings
 * (made by the master, kept across a reload when unchanged), and the
 * hash table with an LRU list inside each mapping (layout in
 * fy_http_limit.h).
 *
 * Reload: the master keeps every zone it mapped in a list of its own
 * (malloc'ed, outliving the cycles).  A zone of the new configuration
 * with the same name, kind and size as a mapped one takes that mapping
 * over, so its state (request rates, connections still counted by the
 * old workers) carries on, as nginx keeps a zone whose name and size
 * did not change.  A zone whose size or key changed (nginx refuses
 * such a reload when only the key changed; ferry starts the zone
 * afresh: the old workers still count in the old table with the old
 * key), or that is new, gets a new empty mapping; the master unmaps
 * those the new configuration no longer names (old workers keep their
 * own mapping until they exit).
 *
 * The stream block's limit_conn_zone (fy_stream_limit_conn.c) keeps
 * its zones in a list of its own (smcf->limit_zones, keys of stream
 * variables) and shares all the rest: the mappings, the table, the
 * counting, the reaping.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"
#include "fy_stream.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <openssl/evp.h>

/* A zone the master has mapped. */
typedef struct fy_http_limit_map_s {
    char                        *name;
    unsigned                     kind;
    size_t                       size;
    char                        *key;      /* the key's text */
    fy_http_limit_shm_t         *shm;
    struct fy_http_limit_map_s  *next;
} fy_http_limit_map_t;

static fy_http_limit_map_t  *fy_http_limit_maps;

const fy_str_t  fy_http_limit_status_names[] = {
    fy_null_string,
    fy_string("PASSED"),
    fy_string("DELAYED"),
    fy_string("REJECTED"),
    fy_string("DELAYED_DRY_RUN"),
    fy_string("REJECTED_DRY_RUN")
};

static const char *const  fy_http_limit_kind_names[] = {
    "", "limit_req_zone", "limit_conn_zone", "proxy_cache zone",
    "fastcgi_cache zone", "uwsgi_cache zone", "scgi_cache zone"
};


/* ---- configuration ---- */

static fy_http_limit_zone_t *
fy_http_limit_zone_lookup(fy_http_limit_zone_t *list, const fy_str_t *name)
{
    fy_http_limit_zone_t  *z;

    for (z = list; z; z = z->next) {
        if (z->name.len == name->len
            && memcmp(z->name.data, name->data, name->len) == 0)
        {
            return z;
        }
    }
    return NULL;
}

static fy_http_limit_zone_t *
fy_http_limit_zone_new(fy_conf_t *cf, fy_http_limit_zone_t **list,
                       const fy_str_t *name)
{
    fy_http_limit_zone_t  *z;

    z = fy_pcalloc(cf->pool, sizeof(fy_http_limit_zone_t));
    if (z == NULL) {
        return NULL;
    }
    z->name.data = (u_char *) fy_pstrndup(cf->pool, name->data, name->len);
    z->name.len = name->len;
    if (z->name.data == NULL) {
        return NULL;
    }
    z->file = cf->file ? cf->file->name : NULL;
    z->line = cf->line;
    z->next = *list;
    *list = z;
    return z;
}

fy_http_limit_zone_t *
fy_http_limit_zone_get(fy_conf_t *cf, const fy_str_t *name, unsigned kind)
{
    return fy_http_limit_zone_get_in(cf,
               &((fy_cycle_t *) cf->cycle)->http->limit_zones, name, kind);
}

fy_http_limit_zone_t *
fy_http_limit_zone_get_in(fy_conf_t *cf, fy_http_limit_zone_t **list,
                          const fy_str_t *name, unsigned kind)
{
    fy_http_limit_zone_t  *z;

    z = fy_http_limit_zone_lookup(*list, name);
    if (z == NULL) {
        /* used before its limit_*_zone line, as nginx allows: the end
         * of the block reports it if it never comes */
        z = fy_http_limit_zone_new(cf, list, name);
        if (z == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return NULL;
        }
        z->use_kind = kind;
        return z;
    }
    if ((z->kind && z->kind != kind) || (z->use_kind && z->use_kind != kind))
    {
        fy_conf_error(cf, "the shared memory zone \"%.*s\" is already "
                      "declared for a different use",
                      (int) name->len, name->data);
        return NULL;
    }
    z->use_kind = kind;
    return z;
}

fy_http_limit_zone_t *
fy_http_limit_zone_define(fy_conf_t *cf, const fy_str_t *arg, unsigned kind)
{
    fy_http_limit_zone_t  *z;

    z = fy_http_limit_zone_define_in(cf,
            &((fy_cycle_t *) cf->cycle)->http->limit_zones, arg, kind);
    if (z == NULL) {
        return NULL;
    }
    z->key = fy_http_cv_compile(cf, &cf->args[1]);
    return z->key ? z : NULL;
}

fy_http_limit_zone_t *
fy_http_limit_zone_define_in(fy_conf_t *cf, fy_http_limit_zone_t **list,
                             const fy_str_t *arg, unsigned kind)
{
    fy_http_limit_zone_t  *z;
    fy_str_t               name, size_text;
    const u_char          *colon;
    int64_t                size;
    long                   page = sysconf(_SC_PAGESIZE);

    /* arg is "NAME:SIZE" (after "zone=") */
    colon = memchr(arg->data, ':', arg->len);
    if (colon == NULL || colon == arg->data) {
        fy_conf_error(cf, "invalid zone size \"%.*s\"", (int) arg->len,
                      arg->data);
        return NULL;
    }
    name.data = arg->data;
    name.len = (size_t) (colon - arg->data);
    size_text.data = (u_char *) colon + 1;
    size_text.len = arg->len - name.len - 1;
    size = fy_conf_parse_size(&size_text);
    if (size <= 0 || (uint64_t) size > (uint64_t) UINT32_MAX * 128) {
        fy_conf_error(cf, "invalid zone size \"%.*s\"", (int) arg->len,
                      arg->data);
        return NULL;
    }
    /* nginx's minimum: eight memory pages */
    if (size < 8 * (page > 0 ? page : 4096)) {
        fy_conf_error(cf, "zone \"%.*s\" is too small", (int) name.len,
                      name.data);
        return NULL;
    }

    z = fy_http_limit_zone_lookup(*list, &name);
    if (z && z->kind) {
        if (z->kind != kind) {
            fy_conf_error(cf, "the shared memory zone \"%.*s\" is already "
                          "declared for a different use", (int) name.len,
                          name.data);
        } else {
            fy_conf_error(cf, "%s \"%.*s\" is already bound to key \"%.*s\"",
                          fy_http_limit_kind_names[kind], (int) name.len,
                          name.data, (int) z->key_text.len,
                          z->key_text.data);
        }
        return NULL;
    }
    if (z && z->use_kind != kind) {
        fy_conf_error(cf, "the shared memory zone \"%.*s\" is already "
                      "declared for a different use", (int) name.len,
                      name.data);
        return NULL;
    }
    if (z == NULL) {
        z = fy_http_limit_zone_new(cf, list, &name);
        if (z == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return NULL;
        }
    }
    z->kind = kind;
    z->size = (size_t) size;
    z->key_text = cf->args[1];      /* the caller compiles it */
    return z;
}

void
fy_http_limit_init_conf(fy_http_loc_conf_t *lcf)
{
    lcf->limit_req_status = FY_CONF_UNSET_INT;
    lcf->limit_req_log_level = FY_CONF_UNSET_INT;
    lcf->limit_req_dry_run = FY_CONF_UNSET_INT;
    lcf->limit_conn_status = FY_CONF_UNSET_INT;
    lcf->limit_conn_log_level = FY_CONF_UNSET_INT;
    lcf->limit_conn_dry_run = FY_CONF_UNSET_INT;
}

/* nginx: a level's own limit_req (limit_conn) lines replace all those
 * it would inherit; the other settings inherit one by one. */
void
fy_http_limit_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->limit_reqs == NULL) {
        conf->limit_reqs = prev->limit_reqs;
    }
    if (conf->limit_conns == NULL) {
        conf->limit_conns = prev->limit_conns;
    }
    fy_conf_merge(conf->limit_req_status, prev->limit_req_status,
                  FY_CONF_UNSET_INT, 503);
    fy_conf_merge(conf->limit_req_log_level, prev->limit_req_log_level,
                  FY_CONF_UNSET_INT, FY_LOG_ERR);
    fy_conf_merge(conf->limit_req_dry_run, prev->limit_req_dry_run,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->limit_conn_status, prev->limit_conn_status,
                  FY_CONF_UNSET_INT, 503);
    fy_conf_merge(conf->limit_conn_log_level, prev->limit_conn_log_level,
                  FY_CONF_UNSET_INT, FY_LOG_ERR);
    fy_conf_merge(conf->limit_conn_dry_run, prev->limit_conn_dry_run,
                  FY_CONF_UNSET_INT, 0);
}

/* End of the http block: every zone used is defined (nginx's "unknown
 * limit_req_zone" at the line of the use). */
const char *
fy_http_limit_http_done(fy_conf_t *cf, fy_http_main_conf_t *hmcf)
{
    return fy_http_limit_zones_check(cf, hmcf->limit_zones);
}

const char *
fy_http_limit_zones_check(fy_conf_t *cf, fy_http_limit_zone_t *list)
{
    fy_http_limit_zone_t  *z;
    fy_conf_file_t        *saved_file = cf->file, at;
    unsigned               saved_line = cf->line;

    for (z = list; z; z = z->next) {
        if (z->kind) {
            continue;
        }
        memset(&at, 0, sizeof(at));
        at.name = z->file;
        cf->file = z->file ? &at : NULL;
        cf->line = z->line;
        fy_conf_error(cf, "unknown %s \"%.*s\"",
                      fy_http_limit_kind_names[z->use_kind],
                      (int) z->name.len, z->name.data);
        cf->file = saved_file;
        cf->line = saved_line;
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}


/* ---- the mappings (master) ---- */

size_t
fy_http_limit_nodes_offset(uint32_t nbuckets)
{
    size_t  off = sizeof(fy_http_limit_shm_t) + nbuckets * sizeof(uint32_t);

    return (off + FY_CACHELINE - 1) & ~((size_t) FY_CACHELINE - 1);
}

uint32_t
fy_http_limit_index(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    return (uint32_t) (n - fy_http_limit_node(shm, 0));
}

/* An empty table: every node on the free list, no chains. */
void
fy_http_limit_shm_init(fy_http_limit_shm_t *shm, size_t size)
{
    uint32_t  nb, nn, i, *buckets;
    uint64_t  seed;

    /* about one bucket per two nodes; count the buckets first at one
     * per node, then fit the nodes in what is left */
    nn = (uint32_t) ((size - sizeof(*shm)) / (sizeof(fy_http_limit_node_t)
                                              + sizeof(uint32_t)));
    for (nb = 1; nb * 2 <= nn / 2; nb *= 2) { /* a power of two */ }
    nn = (uint32_t) ((size - fy_http_limit_nodes_offset(nb))
                     / sizeof(fy_http_limit_node_t));

    memset(shm, 0, sizeof(*shm));
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        seed = (uint64_t) fy_wall_msec * 0x9e3779b97f4a7c15ull
               ^ (uint64_t) getpid();
    }
    shm->seed = seed;
    shm->nbuckets = nb;
    shm->nnodes = nn;
    shm->lru_head = shm->lru_tail = FY_LIMIT_NIL;
    buckets = (uint32_t *) (shm + 1);
    for (i = 0; i < nb; i++) {
        buckets[i] = FY_LIMIT_NIL;
    }
    for (i = 0; i < nn; i++) {
        fy_http_limit_node(shm, i)->next = i + 1 < nn ? i + 1 : FY_LIMIT_NIL;
    }
    shm->free = 0;
}

static void
fy_http_limit_unmap(fy_http_limit_map_t *m)
{
    munmap(m->shm, m->size);
    free(m->name);
    free(m->key);
    free(m);
}

/*
 * Accepts a cycle just loaded (master, before its workers are forked).
 * Gives each zone of it its mapping: the same one as before when the
 * name, kind and size are unchanged, else a new empty one.  Returns
 * FY_OK (zones the cycle no longer has are unmapped) or FY_ERROR
 * (logged; the previous mappings are as they were).
 */
int
fy_http_limit_zones_map(fy_cycle_t *cycle)
{
    fy_http_limit_zone_t  *z, *lists[2];
    fy_http_limit_map_t   *m, **mp, *taken = NULL, *made = NULL;
    void                  *p;
    unsigned               l;
    int                    err;

    /* proxy_cache_path: its directory, before anything changes */
    if (cycle->http && fy_http_cache_paths_init(cycle, 0) != FY_OK) {
        return FY_ERROR;
    }
    lists[0] = cycle->http ? cycle->http->limit_zones : NULL;
    lists[1] = cycle->stream ? cycle->stream->limit_zones : NULL;
    for (l = 0; l < 2; l++)
    for (z = lists[l]; z; z = z->next) {
        for (mp = &fy_http_limit_maps; *mp; mp = &(*mp)->next) {
            m = *mp;
            if (m->kind == z->kind && m->size == z->size
                && strlen(m->name) == z->name.len
                && memcmp(m->name, z->name.data, z->name.len) == 0
                && strlen(m->key) == z->key_text.len
                && memcmp(m->key, z->key_text.data, z->key_text.len) == 0)
            {
                break;
            }
        }
        if (*mp) {
            m = *mp;
            *mp = m->next;
            m->next = taken;
            taken = m;
            z->shm = m->shm;
            continue;
        }

        m = calloc(1, sizeof(*m));
        if (m == NULL) {
            goto failed;
        }
        m->name = fy_str_dup_cstr(&z->name);
        m->key = fy_str_dup_cstr(&z->key_text);
        m->kind = z->kind;
        m->size = z->size;
        p = mmap(NULL, z->size, PROT_READ|PROT_WRITE,
                 MAP_SHARED|MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || m->name == NULL || m->key == NULL) {
            err = errno;
            fy_log_error(FY_LOG_EMERG, p == MAP_FAILED ? err : 0,
                         "could not map the shared zone \"%.*s\" of %zu "
                         "bytes", (int) z->name.len, z->name.data, z->size);
            if (p != MAP_FAILED) {
                munmap(p, z->size);
            }
            free(m->name);
            free(m->key);
            free(m);
            goto failed;
        }
        m->shm = p;
        fy_http_limit_shm_init(m->shm, m->size);
        z->shm = m->shm;
        m->next = made;
        made = m;
    }

    /* the cycle is in charge: what it did not take goes */
    while (fy_http_limit_maps) {
        m = fy_http_limit_maps;
        fy_http_limit_maps = m->next;
        fy_http_limit_unmap(m);
    }
    for (mp = &fy_http_limit_maps; taken; taken = m) {
        m = taken->next;
        taken->next = NULL;
        *mp = taken;
        mp = &taken->next;
    }
    *mp = made;
    /* proxy_cache_path: the entries already on disk */
    return cycle->http ? fy_http_cache_paths_init(cycle, 1) : FY_OK;

failed:
    while (made) {
        m = made;
        made = m->next;
        fy_http_limit_unmap(m);
    }
    while (taken) {
        m = taken;
        taken = m->next;
        m->next = fy_http_limit_maps;
        fy_http_limit_maps = m;
    }
    return FY_ERROR;
}


/* ---- the table (under the zone's lock) ---- */

uint32_t
fy_http_limit_hash(uint64_t seed, const u_char *key, size_t len)
{
    uint64_t  h = seed ^ 0xcbf29ce484222325ull;
    size_t    i;

    /* FNV-1a with a random seed, folded: keys (client addresses) are
     * short, and the seed keeps chosen keys from piling on a chain */
    for (i = 0; i < len; i++) {
        h ^= key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t) h;
}

size_t
fy_http_limit_key_value(fy_http_limit_zone_t *z, const u_char *v, size_t n,
                        u_char *buf, uint32_t *hash)
{
    size_t  max = z->kind == FY_LIMIT_CONN ? 255 : 65535;

    if (n == 0) {
        return 0;       /* nginx: an empty key is not accounted */
    }
    if (n <= FY_LIMIT_KEY_MAX) {
        memcpy(buf, v, n);
        *hash = fy_http_limit_hash(z->shm->seed, buf, n);
        return n;
    }
    if (n > max) {
        fy_log_error(FY_LOG_ERR, 0, "the value of the \"%.*s\" key is "
                     "more than %zu bytes: \"%.*s\"", (int) z->key_text.len,
                     z->key_text.data, max, (int) n, (char *) v);
        return 0;
    }
    if (!EVP_Digest(v, n, buf, NULL, EVP_sha256(), NULL)) {
        return 0;
    }
    *hash = fy_http_limit_hash(z->shm->seed, buf,
                               fy_http_limit_key_bytes(FY_LIMIT_KEY_DIGEST));
    return FY_LIMIT_KEY_DIGEST;
}

/* A key value too long for a node: its SHA-256 in buf, counted apart
 * from every value kept as it is (FY_LIMIT_KEY_DIGEST).  Over nginx's
 * limit for the module, not accounted and logged with nginx's words. */
static size_t
fy_http_limit_key_digest(fy_http_request_t *r, fy_http_limit_zone_t *z,
                         u_char *buf, uint32_t *hash)
{
    const fy_http_cv_t  *cv = z->key;
    u_char              *v;
    size_t               n, max;

    v = fy_http_cv_eval(r, cv, &n);
    if (v == NULL) {
        return 0;
    }
    max = z->kind == FY_LIMIT_CONN ? 255 : 65535;
    if (n > max) {
        fy_log_error(FY_LOG_ERR, 0, "the value of the \"%.*s\" key is "
                     "more than %zu bytes: \"%.*s\"", (int) cv->text.len,
                     cv->text.data, max, (int) n, (char *) v);
        return 0;
    }
    if (!EVP_Digest(v, n, buf, NULL, EVP_sha256(), NULL)) {
        return 0;
    }
    *hash = fy_http_limit_hash(z->shm->seed, buf,
                               fy_http_limit_key_bytes(FY_LIMIT_KEY_DIGEST));
    return FY_LIMIT_KEY_DIGEST;
}

size_t
fy_http_limit_key(fy_http_request_t *r, fy_http_limit_zone_t *z, u_char *buf,
                  uint32_t *hash)
{
    const fy_http_cv_t  *cv = z->key;
    size_t               len = 0, n;
    unsigned             i;

    /* sized first, then written straight into buf: nothing taken from
     * the pool for the usual short key */
    if (!cv->has_vars) {
        /* a constant: one entry for every request, whatever its length */
        len = fy_min(cv->text.len, FY_LIMIT_KEY_MAX);
        memcpy(buf, cv->text.data, len);
    } else {
        for (i = 0; i < cv->nparts; i++) {
            len += fy_http_cv_part_len(r, &cv->parts[i]);
        }
        if (len > FY_LIMIT_KEY_MAX) {
            return fy_http_limit_key_digest(r, z, buf, hash);
        }
        for (n = 0, i = 0; i < cv->nparts && n < len; i++) {
            n += fy_http_cv_part_get(r, &cv->parts[i], buf + n, len - n);
        }
        len = fy_min(n, len);
    }
    if (len == 0) {
        return 0;       /* nginx: an empty key is not accounted */
    }
    *hash = fy_http_limit_hash(z->shm->seed, buf, len);
    return len;
}

fy_http_limit_node_t *
fy_http_limit_find(fy_http_limit_shm_t *shm, const u_char *key, size_t len,
                   uint32_t hash)
{
    uint32_t               *buckets = (uint32_t *) (shm + 1), i;
    fy_http_limit_node_t   *n;

    for (i = buckets[hash & (shm->nbuckets - 1)]; i != FY_LIMIT_NIL;
         i = n->hnext)
    {
        n = fy_http_limit_node(shm, i);
        if (n->hash == hash && n->len == len
            && memcmp(n->key, key, fy_http_limit_key_bytes(len)) == 0)
        {
            return n;
        }
    }
    return NULL;
}

static void
fy_http_limit_lru_unlink(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    if (n->prev != FY_LIMIT_NIL) {
        fy_http_limit_node(shm, n->prev)->next = n->next;
    } else {
        shm->lru_head = n->next;
    }
    if (n->next != FY_LIMIT_NIL) {
        fy_http_limit_node(shm, n->next)->prev = n->prev;
    } else {
        shm->lru_tail = n->prev;
    }
}

static void
fy_http_limit_lru_push(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    uint32_t  i = fy_http_limit_index(shm, n);

    n->prev = FY_LIMIT_NIL;
    n->next = shm->lru_head;
    if (shm->lru_head != FY_LIMIT_NIL) {
        fy_http_limit_node(shm, shm->lru_head)->prev = i;
    } else {
        shm->lru_tail = i;
    }
    shm->lru_head = i;
}

void
fy_http_limit_touch(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    if (shm->lru_head != fy_http_limit_index(shm, n)) {
        fy_http_limit_lru_unlink(shm, n);
        fy_http_limit_lru_push(shm, n);
    }
}

fy_http_limit_node_t *
fy_http_limit_alloc(fy_http_limit_shm_t *shm, const u_char *key, size_t len,
                    uint32_t hash)
{
    uint32_t              *buckets = (uint32_t *) (shm + 1), i, b;
    fy_http_limit_node_t  *n;

    i = shm->free;
    if (i == FY_LIMIT_NIL) {
        return NULL;
    }
    n = fy_http_limit_node(shm, i);
    shm->free = n->next;
    memset(n, 0, offsetof(fy_http_limit_node_t, key));
    n->hash = hash;
    n->len = (uint16_t) len;
    memcpy(n->key, key, fy_http_limit_key_bytes(len));
    b = hash & (shm->nbuckets - 1);
    n->hnext = buckets[b];
    buckets[b] = i;
    fy_http_limit_lru_push(shm, n);
    shm->used++;
    return n;
}

void
fy_http_limit_free(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    uint32_t  *buckets = (uint32_t *) (shm + 1), *link, i;

    i = fy_http_limit_index(shm, n);
    for (link = &buckets[n->hash & (shm->nbuckets - 1)];
         *link != FY_LIMIT_NIL; link = &fy_http_limit_node(shm, *link)->hnext)
    {
        if (*link == i) {
            *link = n->hnext;
            break;
        }
    }
    fy_http_limit_lru_unlink(shm, n);
    n->last = 0;
    n->next = shm->free;
    shm->free = i;
    shm->used--;
}


fy_http_limit_node_t *
fy_http_limit_hold(fy_http_limit_shm_t *shm, uint32_t target, uint64_t pid)
{
    fy_http_limit_node_t  *n;
    uint32_t               i = shm->free;

    if (i == FY_LIMIT_NIL) {
        return NULL;
    }
    n = fy_http_limit_node(shm, i);
    shm->free = n->next;
    memset(n, 0, offsetof(fy_http_limit_node_t, key));
    n->hnext = FY_LIMIT_NIL;
    n->excess = target;
    n->last = pid;
    shm->holds++;
    /* limit_conn zones never evict: their LRU list is simply the list
     * of nodes in use, which the master walks for a dead worker's */
    fy_http_limit_lru_push(shm, n);
    shm->used++;
    return n;
}

void
fy_http_limit_unhold(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n)
{
    fy_http_limit_node_t  *t;

    if ((uint64_t) n->excess < shm->nnodes) {
        t = fy_http_limit_node(shm, (uint32_t) n->excess);
        if (t->len && t->conns && --t->conns == 0) {
            fy_http_limit_free(shm, t);
        }
    }
    fy_http_limit_lru_unlink(shm, n);
    n->last = 0;            /* a free node is nobody's hold */
    shm->holds--;
    n->next = shm->free;
    shm->free = fy_http_limit_index(shm, n);
    shm->used--;
}

/*
 * Accepts the pid of a worker process that has exited (master, from
 * fy_master_reap).  Gives back every limit_conn count it still held:
 * a worker killed (SIGKILL, a crash, worker_shutdown_timeout) cannot
 * run its pool cleanups, and its counts would otherwise stay, a
 * permanent limit.  The walk is bounded by the node count, so a list a
 * dying worker left half-changed cannot make it loop.
 */
void
fy_http_limit_reap(pid_t pid)
{
    fy_http_limit_map_t   *m;
    fy_http_limit_shm_t   *shm;
    fy_http_limit_node_t  *n;
    uint32_t               i, next, steps, given;

    for (m = fy_http_limit_maps; m; m = m->next) {
        if (m->kind != FY_LIMIT_CONN) {
            continue;
        }
        shm = m->shm;
        given = 0;
        fy_shm_lock(&shm->lock);
        /* oldest first: a count's node is older than its holds, so
         * the node a hold frees is behind the walk, never the next */
        for (i = shm->lru_tail, steps = 0;
             i < shm->nnodes && steps < shm->nnodes; i = next, steps++)
        {
            n = fy_http_limit_node(shm, i);
            next = n->prev;
            if (n->len == 0 && n->last == (uint64_t) pid) {
                fy_http_limit_unhold(shm, n);
                given++;
            }
        }
        fy_shm_unlock(&shm->lock);
        if (given) {
            fy_log_error(FY_LOG_NOTICE, 0, "gave back %u connection(s) "
                         "process %d held in limit_conn zone \"%s\"",
                         given, (int) pid, m->name);
        }
    }
}


/* ---- logging and variables ---- */

void
fy_http_limit_log(fy_http_request_t *r, int level, const char *text)
{
    fy_str_t  *server = NULL;

    if (r->srv->sn.server_name.len) {
        server = &r->srv->sn.server_name;     /* nginx's "server:" */
    }
    fy_log_error(level, 0, "%s, client: %s, server: %.*s, request: \"%.*s\", "
                 "host: \"%.*s\"", text, r->hc->addr_text,
                 server ? (int) server->len : 0,
                 server ? (char *) server->data : "",
                 (int) r->request_line.len, (char *) r->request_line.data,
                 (int) r->host.len, (char *) r->host.data);
}

static size_t
fy_http_limit_var(unsigned status, u_char *buf, size_t size)
{
    const fy_str_t  *s = &fy_http_limit_status_names[status];

    if (buf && s->len) {
        memcpy(buf, s->data, fy_min(size, s->len));
    }
    return s->len;
}

size_t
fy_http_limit_var_req_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_limit_var(r->limit_req_status, buf, size);
}

size_t
fy_http_limit_var_conn_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_limit_var(r->limit_conn_status, buf, size);
}
