/*
 * The JSON_Decoder plugin (decoders.md §9): parse one JSON object with cJSON and flatten it into
 * fields, depth first, with dotted keys.
 *
 * cJSON is used because the alert format users expect is defined by its behaviour: numbers that
 * fit an int print as integers and others with %f ("1683632491049788416.000000"), and arrays are
 * kept as cJSON's pretty-printed text. Values and dotted names are copied into the event's arena;
 * the cJSON tree is freed before returning.
 */
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decoder_impl.h"

#define MAX_KEY_PATH   4096
#define MAX_CSV_VALUE  65535
#define MAX_NUMBER_TXT 64 /* 63 characters, as the original prints into a 64-byte buffer */

struct flattener {
    const struct dec *opts;
    struct tld_event *ev;
    struct tld_sb key;
};

static struct tld_sv number_text(const cJSON *item, struct tld_arena *arena)
{
    char buf[MAX_NUMBER_TXT];
    if (item->valuedouble == (double)item->valueint)
        snprintf(buf, sizeof buf, "%d", item->valueint);
    else
        snprintf(buf, sizeof buf, "%f", item->valuedouble);
    return tld_arena_dup(arena, buf, strlen(buf));
}

static bool is_json_static(struct tld_sv key, int *field)
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

static void emit(struct flattener *fl, struct tld_sv value)
{
    struct tld_event *ev = fl->ev;
    if (!value.p)
        return;
    struct tld_sv key = tld_sb_view(&fl->key);
    int field;
    if (is_json_static(key, &field)) {
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

static struct tld_sv scalar_text(const cJSON *item, struct tld_arena *arena)
{
    if (cJSON_IsString(item))
        return tld_arena_dup(arena, item->valuestring, strlen(item->valuestring));
    if (cJSON_IsNumber(item))
        return number_text(item, arena);
    if (cJSON_IsTrue(item))
        return TLD_SV_LIT("true");
    if (cJSON_IsFalse(item))
        return TLD_SV_LIT("false");
    return TLD_SV_LIT("null");
}

static void emit_array(struct flattener *fl, const cJSON *arr)
{
    struct tld_arena *arena = fl->ev->arena;
    if (fl->opts->json_array == DEC_JSON_ARRAY_ARRAY) {
        char *text = cJSON_Print(arr);
        if (text) {
            emit(fl, tld_arena_dup(arena, text, strlen(text)));
            cJSON_free(text);
        }
        return;
    }
    struct tld_sb csv;
    tld_sb_init(&csv, MAX_CSV_VALUE + 1);
    for (const cJSON *el = arr->child; el; el = el->next) {
        if (cJSON_IsArray(el) || cJSON_IsObject(el))
            continue;
        tld_sb_append_sv(&csv, scalar_text(el, arena));
        if (el->next)
            tld_sb_append_char(&csv, ',');
    }
    if (csv.n > 0 && csv.n <= MAX_CSV_VALUE && !csv.oom)
        emit(fl, tld_arena_dup(arena, tld_sb_cstr(&csv), csv.n));
    tld_sb_fini(&csv);
}

static void flatten(struct flattener *fl, const cJSON *obj)
{
    for (const cJSON *m = obj->child; m && !fl->ev->fields_overflow; m = m->next) {
        size_t mark = fl->key.n;
        if (mark)
            tld_sb_append_char(&fl->key, '.');
        tld_sb_append_cstr(&fl->key, m->string ? m->string : "");
        if (!fl->key.truncated) {
            if (cJSON_IsObject(m))
                flatten(fl, m);
            else if (cJSON_IsArray(m))
                emit_array(fl, m);
            else if (cJSON_IsNull(m)) {
                if (fl->opts->json_null != DEC_JSON_NULL_DISCARD)
                    emit(fl, TLD_SV_LIT("null"));
            } else
                emit(fl, scalar_text(m, fl->ev->arena));
        }
        fl->key.n = mark;
        fl->key.truncated = false;
        if (fl->key.p)
            fl->key.p[mark] = '\0';
    }
}

void tld_decoder_json_run(const struct dec *selected, struct tld_sv text, struct tld_event *ev)
{
    if (!text.p || text.n == 0)
        return;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text.p, text.n, &end, 0);
    if (!root)
        return;
    if (cJSON_IsObject(root)) {
        struct flattener fl = {.opts = selected, .ev = ev};
        tld_sb_init(&fl.key, MAX_KEY_PATH);
        flatten(&fl, root);
        tld_sb_fini(&fl.key);
    }
    cJSON_Delete(root);
}
