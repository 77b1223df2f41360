/*
 * Agent side of enrollment (`tld-agent enroll`, and automatic enrollment at start): make a key,
 * send a certificate request with the agent's name (and the enrollment password), and store
 * what the manager answers:
 *     <tls_dir>/agent.key   the agent's private key (0600; never leaves the agent)
 *     <tls_dir>/agent.crt   its client certificate (CN = agent id)
 *     <tls_dir>/ca.crt      the manager's CA, which the transport verifies the manager against
 * The three files are replaced together only after the answer was checked (the certificate is
 * for our key, chains to the CA, names an id), so a failed enrollment keeps an earlier identity.
 *
 * Trust: the manager's enrollment certificate is verified against `ca_file` when one is given
 * (recommended: copy the manager's var/ca/ca.crt); without it the first contact is trusted, as
 * with Wazuh's agent-auth without -v, and the fingerprint of the CA received is reported.
 */
#ifndef TLD_AGENT_ENROLL_CLIENT_H
#define TLD_AGENT_ENROLL_CLIENT_H

#include <stdbool.h>

#include "common/proto.h"

struct tld_enroll_client_opts {
    const char *host;
    unsigned port;        /* 0: 1515 */
    const char *name;     /* NULL: the host name */
    const char *password; /* NULL: none */
    const char *tls_dir;
    const char *ca_file; /* NULL: trust on first use */
    int timeout_ms;      /* 0: 30000 */
    int cancel_fd;       /* -1: none */
};

struct tld_enroll_client_result {
    char agent_id[TLD_PROTO_MAX_ID];
    char agent_name[TLD_PROTO_MAX_NAME + 1];
    unsigned code;      /* refusal code from the manager (0 when not refused) */
    char reason[600];   /* why it failed, for the user */
    char ca_sha256[65]; /* fingerprint of the CA now trusted */
};

/* 0 on success; TLD_EAUTH when the manager refused (code and reason set); other errors for
 * connection, TLS or storage problems (reason set). */
int tld_enroll_client_run(const struct tld_enroll_client_opts *o,
                          struct tld_enroll_client_result *res);

/* Whether tls_dir already holds a complete identity (key, certificate, CA). */
bool tld_enroll_client_have_identity(const char *tls_dir);

/* Read a password file: the first line, without its end of line. */
int tld_enroll_client_read_password(const char *path, char *buf, size_t n);

#endif
