/*
 * A generated alert corpus for the store tests: alerts shaped like the manager's (web attacks,
 * authentication, Docker events, container logs) with enough variety in every field kind the
 * query language distinguishes (columns, rule arrays, data.* with nesting, arrays, numbers and
 * booleans, fields only in the raw JSON), plus odd but valid alerts. Deterministic per seed.
 */
#ifndef TLD_TEST_STORE_CORPUS_H
#define TLD_TEST_STORE_CORPUS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t corpus_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

#define PICK(s, arr) (arr[corpus_rand(s) % (sizeof(arr) / sizeof(arr[0]))])

static const char *const corpus_agents[] = {"web-01", "web-02", "db-01", "Ubuntu22", "mail"};
static const char *const corpus_groups[] = {"web",
                                            "accesslog",
                                            "attack",
                                            "sql_injection",
                                            "docker",
                                            "authentication_failed",
                                            "sshd",
                                            "syslog",
                                            "authentication_success",
                                            "pam"};
static const char *const corpus_tactics[] = {"Initial Access", "Persistence", "Credential Access",
                                             "Lateral Movement"};
static const char *const corpus_techniques[] = {"Exploit Public-Facing Application", "Brute Force",
                                                "Implant Internal Image", "Valid Accounts"};
static const char *const corpus_logs[] = {
    "GET /users/?id=SELECT+*+FROM+users HTTP/1.1 404",
    "GET /index.php?q=1 UNION SELECT password FROM admins",
    "Failed password for root from 10.0.0.5 port 4242 ssh2",
    "Accepted publickey for deploy from 192.168.1.20",
    "pam_unix(sshd:auth): authentication failure; user=Admin",
    "café au lait: naïve ÜBER test",
    "50% done [x] a_b * ? quote\" back\\slash",
    "short",
};
static const char *const corpus_actions[] = {"start",  "stop", "die",
                                             "create", "pull", "exec_start"};
static const char *const corpus_images[] = {"nginx:1.27", "httpd", "redis:7", "python:3.12-slim"};

static void corpus_strings(cJSON *obj, const char *key, const char *const *pool, size_t pool_n,
                           uint64_t *s, int max)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    int n = (int)(corpus_rand(s) % (unsigned)(max + 1));
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(pool[corpus_rand(s) % pool_n]));
}

static void corpus_rule(cJSON *a, uint64_t *s, int kind)
{
    static const char *const ids[] = {"31103", "31101", "5710", "5715", "87903", "87924", "550"};
    cJSON *rule = cJSON_AddObjectToObject(a, "rule");
    cJSON_AddNumberToObject(rule, "level", corpus_rand(s) % 16);
    cJSON_AddStringToObject(rule, "description",
                            kind == 2   ? "Docker: Container started"
                            : kind == 1 ? "sshd: authentication failed."
                                        : "SQL injection attempt.");
    cJSON_AddStringToObject(rule, "id", PICK(s, ids));
    cJSON_AddNumberToObject(rule, "firedtimes", corpus_rand(s) % 50);
    cJSON_AddBoolToObject(rule, "mail", corpus_rand(s) % 2);
    corpus_strings(rule, "groups", corpus_groups, 10, s, 4);
    if (corpus_rand(s) % 3) {
        cJSON *m = cJSON_AddObjectToObject(rule, "mitre");
        static const char *const tids[] = {"T1190", "T1110", "T1525", "T1078"};
        corpus_strings(m, "id", tids, 4, s, 2);
        corpus_strings(m, "tactic", corpus_tactics, 4, s, 2);
        corpus_strings(m, "technique", corpus_techniques, 4, s, 2);
    }
    static const char *const pci[] = {"6.5", "11.4", "10.2.7", "10.2.4"};
    if (corpus_rand(s) % 2)
        corpus_strings(rule, "pci_dss", pci, 4, s, 3);
}

static void corpus_data(cJSON *a, uint64_t *s, int kind)
{
    cJSON *d = cJSON_AddObjectToObject(a, "data");
    char buf[64];
    if (kind == 2) {
        cJSON_AddStringToObject(d, "integration", "docker");
        cJSON *dk = cJSON_AddObjectToObject(d, "docker");
        cJSON_AddStringToObject(dk, "Type", corpus_rand(s) % 4 ? "container" : "image");
        cJSON_AddStringToObject(dk, "Action", PICK(s, corpus_actions));
        cJSON *actor = cJSON_AddObjectToObject(dk, "Actor");
        cJSON *attr = cJSON_AddObjectToObject(actor, "Attributes");
        cJSON_AddStringToObject(attr, "image", PICK(s, corpus_images));
        snprintf(buf, sizeof(buf), "app-%u", corpus_rand(s) % 6);
        cJSON_AddStringToObject(attr, "name", buf);
        cJSON_AddStringToObject(attr, "com.docker.compose.project", "shop");
        return;
    }
    snprintf(buf, sizeof(buf), "10.0.%u.%u", corpus_rand(s) % 3, corpus_rand(s) % 20);
    if (corpus_rand(s) % 5)
        cJSON_AddStringToObject(d, "srcip", buf);
    if (kind == 1 && corpus_rand(s) % 2)
        cJSON_AddStringToObject(d, "dstuser", corpus_rand(s) % 2 ? "root" : "Admin");
    cJSON_AddNumberToObject(d, "srcport", corpus_rand(s) % 3 ? 1000 + corpus_rand(s) % 100 : 22);
    if (corpus_rand(s) % 4 == 0)
        cJSON_AddNumberToObject(d, "ratio", (corpus_rand(s) % 8) / 4.0);
    if (corpus_rand(s) % 6 == 0)
        cJSON_AddBoolToObject(d, "blocked", corpus_rand(s) % 2);
    if (corpus_rand(s) % 5 == 0) {
        cJSON *tags = cJSON_AddArrayToObject(d, "tags");
        cJSON_AddItemToArray(tags, cJSON_CreateString("a"));
        cJSON_AddItemToArray(tags, cJSON_CreateNumber(corpus_rand(s) % 3));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "k", corpus_rand(s) % 2 ? "x" : "y");
        cJSON_AddItemToArray(tags, o);
    }
    if (kind == 0) {
        snprintf(buf, sizeof(buf), "/page/%u?id=%u", corpus_rand(s) % 5, corpus_rand(s) % 50);
        cJSON_AddStringToObject(d, "url", buf);
        cJSON_AddStringToObject(d, "id", corpus_rand(s) % 2 ? "404" : "200");
    }
}

/* One alert line; `i` makes its alert id unique, and its time moves mostly forward. */
static char *corpus_alert(uint64_t *s, unsigned i)
{
    int kind = (int)(corpus_rand(s) % 3);
    cJSON *a = cJSON_CreateObject();
    char buf[96];
    unsigned secs = 1000 + i * 37 - (corpus_rand(s) % 4 == 0 ? 5 : 0) - (i % 13 == 0 ? 7 : 0);
    snprintf(buf, sizeof(buf), "2026-11-26T%02u:%02u:%02u.%03u+0000", (secs / 3600) % 24,
             (secs / 60) % 60, secs % 60, (i % 5) * 100);
    cJSON_AddStringToObject(a, "timestamp", buf);
    corpus_rule(a, s, kind);
    cJSON *ag = cJSON_AddObjectToObject(a, "agent");
    unsigned an = corpus_rand(s) % 5;
    snprintf(buf, sizeof(buf), "%03u", an);
    cJSON_AddStringToObject(ag, "id", buf);
    cJSON_AddStringToObject(ag, "name", corpus_agents[an]);
    if (an)
        cJSON_AddStringToObject(ag, "ip", "192.168.132.140");
    cJSON *mg = cJSON_AddObjectToObject(a, "manager");
    cJSON_AddStringToObject(mg, "name", "tld-manager");
    snprintf(buf, sizeof(buf), "1795707399.%u", i);
    cJSON_AddStringToObject(a, "id", buf);
    cJSON *dec = cJSON_AddObjectToObject(a, "decoder");
    if (kind != 2)
        cJSON_AddStringToObject(dec, "parent", kind ? "sshd" : "json");
    cJSON_AddStringToObject(dec, "name", kind == 2 ? "json" : kind ? "sshd" : "web-accesslog");
    if (kind != 2)
        cJSON_AddStringToObject(a, "full_log", PICK(s, corpus_logs));
    corpus_data(a, s, kind);
    cJSON_AddStringToObject(a, "location", kind == 2 ? "Wazuh-Docker" : "/var/log/app.log");
    if (kind == 0 && corpus_rand(s) % 2) {
        cJSON *c = cJSON_AddObjectToObject(a, "container");
        cJSON_AddStringToObject(c, "id", corpus_rand(s) % 2 ? "840548b2b78c" : "f736fa30f2ce");
        snprintf(buf, sizeof(buf), "shop-nginx-%u", corpus_rand(s) % 3);
        cJSON_AddStringToObject(c, "name", buf);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "image"), "name",
                                PICK(s, corpus_images));
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(a, "input"), "type", "log");
    if (corpus_rand(s) % 7 == 0)
        cJSON_AddNumberToObject(a, "score", corpus_rand(s) % 10);
    char *line = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return line;
}

#endif
