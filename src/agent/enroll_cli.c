/* `tld-agent enroll` and the forwarder's start-up from the configuration (see enroll_cli.h). */
#include "agent/enroll_cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "agent/enroll_client.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/net.h"
#include "common/xml.h"

struct tld_agent_uplink {
    struct tld_forwarder *f;
    pthread_t t;
    char host[256], ehost[256], name[TLD_PROTO_MAX_NAME + 1], password[512];
    char tls_dir[PATH_MAX], ca_file[PATH_MAX];
};

int tld_agent_enroll_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"manager", required_argument, NULL, 'm'},
        {"password-file", required_argument, NULL, 'p'},
        {"name", required_argument, NULL, 'n'},
        {"root", required_argument, NULL, 'r'},
        {"ca-file", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *manager = NULL, *pwfile = NULL, *name = NULL, *root = "/var/threatlockdown",
               *ca = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "m:p:n:r:a:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            manager = optarg;
            break;
        case 'p':
            pwfile = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'a':
            ca = optarg;
            break;
        default:
            fprintf(ch == 'h' ? stdout : stderr,
                    "usage: tld-agent enroll --manager HOST[:PORT] [--password-file FILE] "
                    "[--name NAME] [-r ROOT] [--ca-file FILE]\n"
                    "  enrolls this agent with the manager (port 1515 by default) and stores\n"
                    "  its identity in ROOT/var/tls/ (default root /var/threatlockdown)\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (!manager || optind != argc) {
        fprintf(stderr, "tld-agent enroll: --manager HOST[:PORT] is required\n");
        return 2;
    }
    char host[256];
    unsigned port;
    if (tld_net_split(manager, 1515, host, sizeof host, &port) != 0) {
        fprintf(stderr, "tld-agent enroll: '%s' is not HOST or HOST:PORT\n", manager);
        return 2;
    }
    char password[512] = "";
    if (pwfile && tld_enroll_client_read_password(pwfile, password, sizeof password) != 0) {
        fprintf(stderr, "tld-agent enroll: cannot read %s\n", pwfile);
        return 1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/var", root);
    if (tld_mkdir_p(dir, 0750) != 0) {
        fprintf(stderr, "tld-agent enroll: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/var/tls", root);
    signal(SIGPIPE, SIG_IGN);
    struct tld_enroll_client_opts o = {host, port, name,  pwfile ? password : NULL,
                                       dir,  ca,   30000, -1};
    struct tld_enroll_client_result r;
    int rc = tld_enroll_client_run(&o, &r);
    if (rc) {
        fprintf(stderr, "tld-agent enroll: %s\n", r.reason);
        return 1;
    }
    printf("enrolled as agent %s '%s' with %s:%u\n"
           "identity stored in %s (manager CA sha256 %s)\n",
           r.agent_id, r.agent_name, host, port, dir, r.ca_sha256);
    if (!ca)
        printf("note: the manager was trusted on first contact; compare the fingerprint above "
               "with the manager's var/ca/ca.crt, or pass --ca-file next time\n");
    return 0;
}

/* <client><enrollment> from one configuration file (the last block found wins). */
static void read_enrollment(struct tld_agent_uplink *u, const char *root, const char *path,
                            bool *enabled, unsigned *port)
{
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_xml_doc *doc = NULL;
    if (tld_xml_load(path, &doc, &d) != 0) {
        tld_diag_fini(&d);
        return;
    }
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        const struct tld_xml_node *secs = r->children;
        /* A bare <client> block at the top level counts as well. */
        if (tld_xml_is(r, "client"))
            secs = r;
        for (const struct tld_xml_node *s = secs; s; s = s->next) {
            if (!tld_xml_is(s, "client"))
                continue;
            for (const struct tld_xml_node *e = s->children; e; e = e->next) {
                if (!tld_xml_is(e, "enrollment"))
                    continue;
                for (const struct tld_xml_node *n = e->children; n; n = n->next) {
                    struct tld_sv v = tld_sv_trim(n->text);
                    char val[PATH_MAX];
                    snprintf(val, sizeof val, "%.*s", (int)v.n, v.p);
                    if (tld_xml_is(n, "enabled"))
                        *enabled = strcasecmp(val, "no") != 0;
                    else if (tld_xml_is(n, "manager_address"))
                        snprintf(u->ehost, sizeof u->ehost, "%.255s", val);
                    else if (tld_xml_is(n, "port"))
                        *port = (unsigned)strtoul(val, NULL, 10);
                    else if (tld_xml_is(n, "agent_name"))
                        snprintf(u->name, sizeof u->name, "%.128s", val);
                    else if (tld_xml_is(n, "authorization_pass_path")) {
                        char full[PATH_MAX + 8];
                        if (val[0] == '/')
                            snprintf(full, sizeof full, "%s", val);
                        else
                            snprintf(full, sizeof full, "%.2000s/%.2000s", root, val);
                        if (tld_enroll_client_read_password(full, u->password,
                                                            sizeof u->password) != 0)
                            u->password[0] = 0;
                    } else if (tld_xml_is(n, "server_ca_path"))
                        snprintf(u->ca_file, sizeof u->ca_file, "%s", val);
                }
            }
        }
    }
    tld_xml_free(doc);
    tld_diag_fini(&d);
}

static void *uplink_main(void *arg)
{
    struct tld_agent_uplink *u = arg;
    tld_forwarder_run(u->f);
    return NULL;
}

int tld_agent_uplink_start(const char *root, const char *const *configs, unsigned nconfigs,
                           const struct tld_agent_config *cfg, struct tld_spool *spool,
                           const char *spool_dir, struct tld_log *log,
                           struct tld_agent_uplink **out)
{
    *out = NULL;
    if (!cfg->nservers)
        return TLD_EINVAL;
    struct tld_agent_uplink *u = calloc(1, sizeof *u);
    if (!u)
        return TLD_ENOMEM;
    snprintf(u->tls_dir, sizeof u->tls_dir, "%s/var/tls", root);
    char var[PATH_MAX];
    snprintf(var, sizeof var, "%s/var", root);
    tld_mkdir_p(var, 0750);
    bool enabled = true;
    unsigned eport = 1515;
    char pw[PATH_MAX];
    snprintf(pw, sizeof pw, "%s/etc/authd.pass", root);
    struct stat st;
    bool have_pw = stat(pw, &st) == 0 &&
                   tld_enroll_client_read_password(pw, u->password, sizeof u->password) == 0;
    u->ca_file[0] = 0;
    for (unsigned i = 0; i < nconfigs; i++)
        read_enrollment(u, root, configs[i], &enabled, &eport);
    struct tld_forwarder_opts fo = {.spool = spool,
                                    .spool_dir = spool_dir,
                                    .tls_dir = u->tls_dir,
                                    .log = log,
                                    .name = u->name[0] ? u->name : NULL,
                                    .failback_s = (unsigned)cfg->failback_s};
    for (unsigned i = 0; i < cfg->nservers && i < TLD_FORWARDER_MAX_SERVERS; i++) {
        fo.servers[i] =
            (struct tld_forwarder_server){cfg->servers[i].address, cfg->servers[i].port};
        fo.nservers++;
    }
    if (enabled) {
        fo.enroll = (struct tld_enroll_client_opts){
            .host = u->ehost[0] ? u->ehost : cfg->servers[0].address,
            .port = eport,
            .name = u->name[0] ? u->name : NULL,
            .password = u->password[0] || have_pw ? u->password : NULL,
            .ca_file = u->ca_file[0] ? u->ca_file : NULL,
            .timeout_ms = 30000,
        };
    }
    int rc = tld_forwarder_new(&fo, &u->f);
    if (rc == 0 && pthread_create(&u->t, NULL, uplink_main, u) != 0)
        rc = TLD_ENOMEM;
    if (rc) {
        tld_forwarder_free(u->f);
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

void tld_agent_uplink_stop(struct tld_agent_uplink *u)
{
    if (!u)
        return;
    tld_forwarder_stop(u->f);
    pthread_join(u->t, NULL);
    tld_forwarder_free(u->f);
    free(u);
}

void tld_agent_uplink_stats(struct tld_agent_uplink *u, struct tld_forwarder_stats *st)
{
    tld_forwarder_stats(u->f, st);
}
