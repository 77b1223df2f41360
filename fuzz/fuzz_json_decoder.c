/*
 * libFuzzer harness: the JSON_Decoder plugin against a reference. The reference below flattens
 * the tree cJSON builds, as the plugin did before it parsed in one pass; both must leave the
 * same fields (static and dynamic, in order, byte for byte) and the same overflow flag on events
 * that already carry fields, for every json_null and json_array option; a document that starts as
 * an object and does not parse gets threatlockdown.decode_error in both. Input: one option byte,
 * then the JSON text.
 */
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decode/decoder_impl.h"

#define MAX_KEY_PATH   4096
#define MAX_CSV_VALUE  65535
#define MAX_NUMBER_TXT 64

/* ---- the reference ---------------------------------------------------------------------- */

struct flattener {
    const struct dec *opts;
    struct tld_event *ev;
    struct tld_sb key;
};

static struct tld_sv ref_number_text(const cJSON *item, struct tld_arena *arena)
{
    char buf[MAX_NUMBER_TXT];
    if (item->valuedouble == (double)item->valueint)
        snprintf(buf, sizeof buf, "%d", item->valueint);
    else
        snprintf(buf, sizeof buf, "%f", item->valuedouble);
    return tld_arena_dup(arena, buf, strlen(buf));
}

static bool ref_is_json_static(struct tld_sv key, int *field)
{
    static const char *const names[] = {"srcip",  "dstip",   "dstport",   "srcport", "protocol",
                                        "action", "srcuser", "dstuser",   "id",      "status",
                                        "url",    "data",    "extra_data"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (tld_sv_eq_cstr(key, names[i])) {
            *field = tld_field_lookup(key, true);
            return true;
        }
    }
    if (tld_sv_eq_cstr(key, "systemname")) {
        *field = TLD_F_SYSTEM_NAME;
        return true;
    }
    return false;
}

static void ref_emit(struct flattener *fl, struct tld_sv value)
{
    struct tld_event *ev = fl->ev;
    if (!value.p)
        return;
    struct tld_sv key = tld_sb_view(&fl->key);
    int field;
    if (ref_is_json_static(key, &field)) {
        tld_event_set(ev, (enum tld_field)field, value);
        return;
    }
    if (tld_sv_eq_cstr(key, "user") &&
        (!ev->fields[TLD_F_DSTUSER].p || ev->fields[TLD_F_DSTUSER].n == 0)) {
        tld_event_set(ev, TLD_F_DSTUSER, value);
        return;
    }
    struct tld_sv name = tld_arena_dup(ev->arena, key.p, key.n);
    if (name.p)
        tld_event_add(ev, name, value);
}

static struct tld_sv ref_scalar_text(const cJSON *item, struct tld_arena *arena)
{
    if (cJSON_IsString(item))
        return tld_arena_dup(arena, item->valuestring, strlen(item->valuestring));
    if (cJSON_IsNumber(item))
        return ref_number_text(item, arena);
    if (cJSON_IsTrue(item))
        return TLD_SV_LIT("true");
    if (cJSON_IsFalse(item))
        return TLD_SV_LIT("false");
    return TLD_SV_LIT("null");
}

static void ref_emit_array(struct flattener *fl, const cJSON *arr)
{
    struct tld_arena *arena = fl->ev->arena;
    if (fl->opts->json_array == DEC_JSON_ARRAY_ARRAY) {
        char *text = cJSON_Print(arr);
        if (text) {
            ref_emit(fl, tld_arena_dup(arena, text, strlen(text)));
            cJSON_free(text);
        }
        return;
    }
    struct tld_sb csv;
    tld_sb_init(&csv, MAX_CSV_VALUE + 1);
    for (const cJSON *el = arr->child; el; el = el->next) {
        if (cJSON_IsArray(el) || cJSON_IsObject(el))
            continue;
        tld_sb_append_sv(&csv, ref_scalar_text(el, arena));
        if (el->next)
            tld_sb_append_char(&csv, ',');
    }
    if (csv.n > 0 && csv.n <= MAX_CSV_VALUE && !csv.oom)
        ref_emit(fl, tld_arena_dup(arena, tld_sb_cstr(&csv), csv.n));
    tld_sb_fini(&csv);
}

static void ref_flatten(struct flattener *fl, const cJSON *obj)
{
    for (const cJSON *m = obj->child; m && !fl->ev->fields_overflow; m = m->next) {
        size_t mark = fl->key.n;
        if (mark)
            tld_sb_append_char(&fl->key, '.');
        tld_sb_append_cstr(&fl->key, m->string ? m->string : "");
        if (!fl->key.truncated) {
            if (cJSON_IsObject(m))
                ref_flatten(fl, m);
            else if (cJSON_IsArray(m))
                ref_emit_array(fl, m);
            else if (cJSON_IsNull(m)) {
                if (fl->opts->json_null != DEC_JSON_NULL_DISCARD)
                    ref_emit(fl, TLD_SV_LIT("null"));
            } else
                ref_emit(fl, ref_scalar_text(m, fl->ev->arena));
        }
        fl->key.n = mark;
        fl->key.truncated = false;
        if (fl->key.p)
            fl->key.p[mark] = '\0';
    }
}

static void ref_json_run(const struct dec *selected, struct tld_sv text, struct tld_event *ev)
{
    if (!text.p || text.n == 0)
        return;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text.p, text.n, &end, 0);
    if (!root) {
        /* A document that starts as an object and does not parse is marked, not dropped. */
        size_t i = text.n > 4 && memcmp(text.p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        while (i < text.n && (unsigned char)text.p[i] <= 32)
            i++;
        if (i < text.n && text.p[i] == '{')
            tld_event_add(ev, TLD_SV_LIT("threatlockdown.decode_error"),
                          TLD_SV_LIT("invalid_json"));
        return;
    }
    if (cJSON_IsObject(root)) {
        struct flattener fl = {.opts = selected, .ev = ev};
        tld_sb_init(&fl.key, MAX_KEY_PATH);
        ref_flatten(&fl, root);
        tld_sb_fini(&fl.key);
    }
    cJSON_Delete(root);
}

/* ---- the comparison ------------------------------------------------------------------------ */

static struct tld_dynfield dyn_a[TLD_EVENT_MAX_FIELDS], dyn_b[TLD_EVENT_MAX_FIELDS];
static struct tld_arena arena_a, arena_b;

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static bool same(struct tld_sv a, struct tld_sv b)
{
    return (a.p == NULL) == (b.p == NULL) && tld_sv_eq(a, b);
}

static void prefill(struct tld_event *ev, unsigned nfill)
{
    tld_event_set(ev, TLD_F_SRCIP, TLD_SV_LIT("192.0.2.1"));
    tld_event_set(ev, TLD_F_DSTUSER, TLD_SV_LIT(""));
    for (unsigned i = 0; i < nfill; i++)
        tld_event_add(ev, TLD_SV_LIT("pre"), TLD_SV_LIT("x"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static bool init;
    if (!init) {
        tld_arena_init(&arena_a, 64 * 1024, 16 * 1024 * 1024);
        tld_arena_init(&arena_b, 64 * 1024, 16 * 1024 * 1024);
        init = true;
    }
    struct dec d = {0};
    d.json_null = (enum dec_json_null)(data[0] % 3);
    d.json_array = (data[0] >> 2) & 1 ? DEC_JSON_ARRAY_CSV : DEC_JSON_ARRAY_ARRAY;
    /* Some inputs start close to the field cap, to compare the overflow behaviour. */
    unsigned nfill = (data[0] >> 3) & 1 ? TLD_EVENT_MAX_FIELDS - 3 : 1;
    struct tld_sv text = tld_sv_make((const char *)data + 1, size - 1);
    /* The plugin keeps an escaped NUL inside a value where cJSON's C strings end at it: the two
     * differ there by design, so such documents are not compared. */
    if (memmem(text.p, text.n, "\\u0000", 6))
        return 0;

    struct tld_event a, b;
    tld_event_init(&a, &arena_a, dyn_a);
    tld_event_init(&b, &arena_b, dyn_b);
    tld_event_reset(&a);
    tld_event_reset(&b);
    prefill(&a, nfill);
    prefill(&b, nfill);
    tld_decoder_json_run(&d, text, &a);
    ref_json_run(&d, text, &b);

    for (int f = 0; f < TLD_F_COUNT; f++)
        check(same(a.fields[f], b.fields[f]));
    check(a.ndyn == b.ndyn && a.fields_overflow == b.fields_overflow);
    for (unsigned i = 0; i < a.ndyn; i++)
        check(same(a.dyn[i].name, b.dyn[i].name) && same(a.dyn[i].value, b.dyn[i].value));
    return 0;
}
