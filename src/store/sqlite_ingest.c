/*
 * SQLite ingest: a batch of alerts.json lines becomes rows of alerts, alerts_fts and alert_kv,
 * and the stored position moves to the batch's end, all in one transaction, so a crash leaves
 * either the whole batch with its position or neither. Lines at or before the stored position
 * are skipped: that is what makes a replay after a crash store each alert once.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "store/identity.h"
#include "store/sqlite_impl.h"

static int step_done(struct tld_sqlite *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : tld_sqlite_fail(s, rc, what);
}

static void bind_sv(sqlite3_stmt *st, int i, struct tld_sv v)
{
    if (v.p)
        sqlite3_bind_text(st, i, v.p, (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/*
 * The id of a string in a two-column (id, text) table: from the cache, else from the table,
 * else newly inserted. `get` selects the id by text, `ins` inserts the text.
 */
static int intern(struct tld_sqlite *s, struct tld_intern *cache, sqlite3_stmt *get,
                  sqlite3_stmt *ins, struct tld_sv text, int64_t *id, bool *added)
{
    *added = false;
    *id = tld_intern_get(cache, text.p, text.n);
    if (*id >= 0)
        return 0;
    sqlite3_bind_text(get, 1, text.p, (int)text.n, SQLITE_STATIC);
    int rc = sqlite3_step(get);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(get, 0);
    sqlite3_reset(get);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tld_sqlite_fail(s, rc, "look up");
    if (rc == SQLITE_DONE) {
        sqlite3_bind_text(ins, 1, text.p, (int)text.n, SQLITE_STATIC);
        int err = step_done(s, ins, "add");
        if (err)
            return err;
        *id = sqlite3_last_insert_rowid(s->db);
        *added = true;
    }
    return tld_intern_put(cache, text.p, text.n, *id);
}

/*
 * The id of the alert's rule set: the values of its rule arrays (groups, MITRE, compliance),
 * which come from its rule and so repeat across alerts. A set's values are stored once; alerts
 * refer to it. -1 when the alert has none.
 */
static int rule_set(struct tld_sqlite *s, const struct tld_flat *f, int64_t *id)
{
    *id = -1;
    if (f->ndata == f->nset)
        return 0;
    tld_sb_reset(&s->body);
    for (size_t i = f->ndata; i < f->nset; i++) {
        tld_sb_append_sv(&s->body, tld_flat_key(f, i));
        tld_sb_append_char(&s->body, '\0');
        tld_sb_append_sv(&s->body, tld_flat_value(f, i));
        tld_sb_append_char(&s->body, '\0');
    }
    if (s->body.oom)
        return TLD_ENOMEM;
    if (s->body.truncated)
        return 0; /* absurdly many values: kept in the raw alert only */
    bool added;
    int rc = intern(s, &s->sets, s->get_set, s->ins_set, tld_sb_view(&s->body), id, &added);
    for (size_t i = f->ndata; !rc && added && i < f->nset; i++) {
        bind_sv(s->ins_set_kv, 1, tld_flat_key(f, i));
        bind_sv(s->ins_set_kv, 2, tld_flat_value(f, i));
        sqlite3_bind_int64(s->ins_set_kv, 3, *id);
        rc = step_done(s, s->ins_set_kv, "add rule set value");
    }
    return rc;
}

static int insert_alert(struct tld_sqlite *s, int64_t id, int64_t ts,
                        const struct tld_store_line *l, const struct tld_flat *f, int64_t set)
{
    sqlite3_stmt *st = s->ins_alert;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, ts);
    for (int c = 0; c < TLD_COL_COUNT; c++) {
        if (c == TLD_COL_RULE_LEVEL) {
            if (f && f->has_level)
                sqlite3_bind_int64(st, 3 + c, f->level);
            else
                sqlite3_bind_null(st, 3 + c);
        } else {
            bind_sv(st, 3 + c, f ? f->col[c] : (struct tld_sv){0});
        }
    }
    if (set >= 0)
        sqlite3_bind_int64(st, 3 + TLD_COL_COUNT, set);
    else
        sqlite3_bind_null(st, 3 + TLD_COL_COUNT);
    sqlite3_bind_text(st, 4 + TLD_COL_COUNT, l->p, (int)l->n, SQLITE_STATIC);
    return step_done(s, st, "insert alert");
}

static int insert_side(struct tld_sqlite *s, int64_t id, const struct tld_flat *f)
{
    int rc = 0;
    struct tld_sv log = f->col[TLD_COL_FULL_LOG];
    if (log.p) {
        sqlite3_bind_int64(s->ins_fts, 1, id);
        bind_sv(s->ins_fts, 2, log);
        rc = step_done(s, s->ins_fts, "insert full text");
    }
    for (size_t i = 0; !rc && i < f->ndata; i++) {
        int64_t key;
        bool added;
        rc = intern(s, &s->keys, s->get_key, s->ins_key, tld_flat_key(f, i), &key, &added);
        if (!rc)
            rc = tld_kv_add(&s->kv, key, tld_flat_value(f, i), id);
    }
    return rc;
}

/* Claims the alert's event identity for `id`; *dup when an alert of that event is stored. */
static int claim_event(struct tld_sqlite *s, const struct tld_store_line *l, int64_t id, bool *dup)
{
    char key[TLD_EVENT_KEY_MAX];
    *dup = false;
    if (!tld_event_key(s->flat.col[TLD_COL_AGENT_ID], tld_sv_make(l->p, l->n), key))
        return 0;
    sqlite3_bind_int64(s->ins_event, 1, id);
    sqlite3_bind_text(s->ins_event, 2, key, -1, SQLITE_TRANSIENT);
    int rc = step_done(s, s->ins_event, "claim event");
    if (!rc)
        *dup = sqlite3_changes(s->db) == 0;
    return rc;
}

/* Stores an alert object whose fields are in s->flat, unless its event's alert is stored. */
static int store_flat(struct tld_sqlite *s, const struct tld_store_line *l, int64_t id,
                      int64_t now_ms, bool *dup)
{
    int64_t set = -1;
    int rc = claim_event(s, l, id, dup);
    if (rc || *dup)
        return rc;
    rc = rule_set(s, &s->flat, &set);
    int64_t ts = s->flat.ts_found ? s->flat.ts_ms : now_ms;
    if (!rc)
        rc = insert_alert(s, id, ts, l, &s->flat, set);
    if (!rc)
        rc = insert_side(s, id, &s->flat);
    if (!rc)
        rc = tld_rollup_count(s, ts, set, &s->flat);
    if (!rc)
        rc = tld_top_count(s, ts, set, &s->flat, id);
    return rc;
}

/* Not an alert object, yet a line of the record: kept, found by time and id only. */
static int store_other(struct tld_sqlite *s, const struct tld_store_line *l, int64_t id,
                       int64_t now_ms)
{
    int rc = insert_alert(s, id, now_ms, l, NULL, -1);
    return rc ? rc : tld_rollup_count(s, now_ms, -1, NULL);
}

/* Stores one line; *dup when it is an alert of an event whose alert is already stored. */
static int store_line(struct tld_sqlite *s, const struct tld_store_line *l, int64_t id,
                      int64_t now_ms, bool *dup)
{
    *dup = false;
    if (l->n > (size_t)INT32_MAX)
        return TLD_ELIMIT;
    /* The common line goes through the allocation-free reader; what it refuses, cJSON reads. */
    int rc = tld_jtree_parse(&s->jt, l->p, l->n);
    if (rc == TLD_ENOMEM)
        return rc;
    if (!rc) {
        if (s->jt.nodes[0].type != TLD_J_OBJECT)
            return store_other(s, l, id, now_ms);
        rc = tld_flat_jtree(&s->flat, &s->jt);
        return rc ? rc : store_flat(s, l, id, now_ms, dup);
    }
    cJSON *root = cJSON_ParseWithLength(l->p, l->n);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return store_other(s, l, id, now_ms);
    }
    rc = tld_flat_alert(&s->flat, root);
    if (!rc)
        rc = store_flat(s, l, id, now_ms, dup);
    cJSON_Delete(root);
    return rc;
}

static int save_state(struct tld_sqlite *s, struct tld_store_pos pos, int64_t next_id)
{
    sqlite3_bind_int64(s->set_pos, 1, (int64_t)pos.gen);
    sqlite3_bind_int64(s->set_pos, 2, (int64_t)pos.off);
    sqlite3_bind_int64(s->set_pos, 3, next_id);
    return step_done(s, s->set_pos, "save position");
}

int tld_sqlite_ingest(struct tld_store *base, const struct tld_store_batch *b, size_t *stored)
{
    struct tld_sqlite *s = (struct tld_sqlite *)base;
    if (s->read_only)
        return TLD_EINVAL;
    /* IMMEDIATE: the position read below stays ours until COMMIT, even with a second writer. */
    int rc = tld_sqlite_exec(s, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    struct tld_store_pos pos;
    int64_t next_id;
    rc = tld_sqlite_state(s, &pos, &next_id);
    size_t n = 0, seen = 0;
    for (size_t i = 0; !rc && i < b->n; i++) {
        const struct tld_store_line *l = &b->lines[i];
        if (tld_store_pos_cmp(l->end, pos) <= 0)
            continue;
        bool dup;
        rc = store_line(s, l, next_id, b->now_ms, &dup);
        if (!dup) {
            next_id++;
            n++;
        }
        seen++;
        pos = l->end;
    }
    if (!rc && n)
        rc = tld_kv_flush(s);
    if (!rc && n)
        rc = tld_rollup_flush(s);
    if (!rc && n)
        rc = tld_top_flush(s);
    if (!rc && seen)
        rc = save_state(s, pos, next_id);
    if (!rc)
        rc = tld_sqlite_exec(s, "COMMIT");
    if (rc) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* Ids cached during the transaction are gone with it. */
        tld_intern_clear(&s->keys);
        tld_intern_clear(&s->sets);
        tld_rollup_reset(&s->rollup);
        tld_rollup_forget(&s->rollup);
        tld_rollup_reset(&s->rollup_min);
        tld_rollup_forget(&s->rollup_min);
        tld_top_reset(&s->top);
        tld_kv_reset(&s->kv);
        return rc;
    }
    *stored = n;
    return 0;
}
