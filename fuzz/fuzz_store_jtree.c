/*
 * libFuzzer harness for the store writer's JSON reader (src/store/jtree.c), differential
 * against cJSON: a line the reader takes must be one cJSON takes too, as the same kind of value,
 * and an object must flatten to the same columns, data.* pairs and rule arrays either way, since
 * the writer stores what the reader gives and falls back to cJSON only for lines it refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "store/flatten.h"
#include "store/jtree.h"

static bool same_sv(struct tld_sv a, struct tld_sv b)
{
    return !a.p == !b.p && a.n == b.n && (!a.n || !memcmp(a.p, b.p, a.n));
}

static bool same_flat(const struct tld_flat *a, const struct tld_flat *b)
{
    if (a->npairs != b->npairs || a->ndata != b->ndata || a->nset != b->nset ||
        a->has_level != b->has_level || (a->has_level && a->level != b->level) ||
        a->ts_found != b->ts_found || (a->ts_found && a->ts_ms != b->ts_ms))
        return false;
    for (int c = 0; c < TLD_COL_COUNT; c++)
        if (!same_sv(a->col[c], b->col[c]))
            return false;
    for (size_t i = 0; i < a->npairs; i++)
        if (!same_sv(tld_flat_key(a, i), tld_flat_key(b, i)) ||
            !same_sv(tld_flat_value(a, i), tld_flat_value(b, i)))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_jtree t;
    tld_jtree_init(&t);
    int rc = tld_jtree_parse(&t, (const char *)data, size);
    if (rc != 0 && rc != TLD_EPARSE)
        abort();
    if (rc == 0) {
        cJSON *root = cJSON_ParseWithLength((const char *)data, size);
        if (!root || (cJSON_IsObject(root) != 0) != (t.nodes[0].type == TLD_J_OBJECT))
            abort();
        if (cJSON_IsObject(root)) {
            struct tld_flat fj, fc;
            tld_flat_init(&fj);
            tld_flat_init(&fc);
            if (tld_flat_jtree(&fj, &t) != 0 || tld_flat_alert(&fc, root) != 0 ||
                !same_flat(&fj, &fc))
                abort();
            tld_flat_fini(&fj);
            tld_flat_fini(&fc);
        }
        cJSON_Delete(root);
    }
    tld_jtree_fini(&t);
    return 0;
}
