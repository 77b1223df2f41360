/*
 * tld-agent configuration loader (elements in config.h). The collection sections are read by
 * collect/collect_config.c; <client> is a table of rows here (common/conftab.h). Top-level
 * sections of other components are skipped by name.
 */
#include "agent/config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/xml.h"

/* ---- <client> ------------------------------------------------------------------------------- */

static void server_protocol(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                            void *obj)
{
    struct tld_server_config *sv = obj;
    if (strcasecmp(v, "tcp") != 0)
        tld_conf_error(c, n, "protocol '%s' is not supported (only tcp)", v);
    free(sv->protocol);
    sv->protocol = strdup("tcp");
}

#define SV(f) offsetof(struct tld_server_config, f)

static const struct tld_conf_row server_rows[] = {
    {"address", TLD_CONF_STR, SV(address), 0, 0, NULL, NULL, 0, NULL},
    {"port", TLD_CONF_UINT, SV(port), 1, 65535, NULL, NULL, 0, NULL},
    {"protocol", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, 0, server_protocol},
    /* accepted for compatibility; the forwarder has its own bounded backoff */
    {"max_retries", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
    {"retry_interval", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
};

static void client_server(struct tld_agent_config *cfg, struct tld_conf_ctx *c,
                          const struct tld_xml_node *s)
{
    if (cfg->nservers == TLD_CONFIG_MAX_SERVERS) {
        tld_conf_error(c, s, "too many servers (at most %d)", TLD_CONFIG_MAX_SERVERS);
        return;
    }
    struct tld_server_config *sv = &cfg->servers[cfg->nservers++];
    sv->port = 1514;
    tld_conf_section(c, server_rows, TLD_CONF_NROWS(server_rows), s, sv, "server");
    if (!sv->address)
        tld_conf_error(c, s, "missing <address>");
}

/* Wazuh client options the agent accepts without using them. */
static const char *const client_accepted[] = {"config-profile", "notify_time",   "time-reconnect",
                                              "auto_restart",   "crypto_method", "enrollment"};

static void section_client(struct tld_agent_config *cfg, struct tld_conf_ctx *c,
                           const struct tld_xml_node *s)
{
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        if (strcmp(n->name, "server") == 0)
            client_server(cfg, c, n);
        else if (strcmp(n->name, "failback_interval") == 0)
            tld_conf_duration(c, n, 1, 86400, &cfg->failback_s);
        else if (!tld_conf_in_list(n->name, client_accepted, TLD_CONF_NROWS(client_accepted)))
            tld_conf_error(c, n, "unknown element in <client>");
    }
}

/* Sections of the manager's own configuration: skipped (other modules' too). */
static const char *const manager_sections[] = {"global", "alerts",  "remote", "ruleset",
                                               "auth",   "manager", "labels", "store"};

static void top_element(struct tld_agent_config *cfg, struct tld_conf_ctx *c,
                        const struct tld_xml_node *n, bool in_root)
{
    if (tld_collect_config_owns(n->name))
        tld_collect_config_section(&cfg->collect, c, n);
    else if (strcmp(n->name, "client") == 0)
        section_client(cfg, c, n);
    else if (!tld_conf_other_module(n->name) &&
             !tld_conf_in_list(n->name, manager_sections, TLD_CONF_NROWS(manager_sections)))
        tld_conf_error(c, n,
                       in_root ? "unknown section"
                               : "unknown top-level element (expected <ossec_config> or "
                                 "<threatlockdown_config>)");
}

void tld_agent_config_init(struct tld_agent_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    tld_collect_config_init(&cfg->collect);
}

void tld_agent_config_fini(struct tld_agent_config *cfg)
{
    tld_collect_config_fini(&cfg->collect);
    for (unsigned i = 0; i < cfg->nservers; i++) {
        free(cfg->servers[i].address);
        free(cfg->servers[i].protocol);
    }
    memset(cfg, 0, sizeof *cfg);
}

static int apply(struct tld_agent_config *cfg, const struct tld_xml_doc *doc, const char *name,
                 struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_conf_ctx c = {diag, name, "tld-agent"};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (!tld_conf_is_root(r)) {
            top_element(cfg, &c, r, false);
            continue;
        }
        for (const struct tld_xml_node *n = r->children; n; n = n->next)
            top_element(cfg, &c, n, true);
    }
    tld_collect_config_finish(&cfg->collect);
    return diag->errors > before ? TLD_EPARSE : 0;
}

int tld_agent_config_parse(struct tld_agent_config *cfg, const char *buf, size_t n,
                           const char *name, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_parse(buf, n, name, &doc, diag);
    if (rc == 0)
        rc = apply(cfg, doc, name, diag);
    tld_xml_free(doc);
    return rc;
}

int tld_agent_config_load(struct tld_agent_config *cfg, const char *path, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_load(path, &doc, diag);
    if (rc == 0)
        rc = apply(cfg, doc, path, diag);
    tld_xml_free(doc);
    return rc;
}
