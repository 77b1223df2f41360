/*
 * Error codes shared by every module. Functions return 0 on success or one of these negative
 * codes and hand results back through out-parameters; the caller that decides what to do is the
 * one that logs. Text for users (file:line diagnostics) travels separately, in struct tld_diag.
 */
#ifndef TLD_COMMON_ERR_H
#define TLD_COMMON_ERR_H

enum tld_err {
    TLD_OK = 0,
    TLD_ENOMEM = -1,    /* allocation failed */
    TLD_EINVAL = -2,    /* invalid argument or value */
    TLD_EIO = -3,       /* read/write/open failure; errno has the detail */
    TLD_EPARSE = -4,    /* malformed input (config, ruleset, wire data) */
    TLD_ELIMIT = -5,    /* a stated bound was reached */
    TLD_ENOTFOUND = -6, /* lookup missed */
    TLD_EEXIST = -7,    /* already present */
    TLD_EAGAIN = -8,    /* try again later (full queue, would block) */
    TLD_EPROTO = -9,    /* peer broke the protocol */
    TLD_ETLS = -10,     /* TLS handshake or certificate failure */
    TLD_ETIMEOUT = -11, /* a deadline passed */
    TLD_ECLOSED = -12,  /* peer or queue closed */
    TLD_EAUTH = -13,    /* authentication or authorization refused */
    TLD_ECORRUPT = -14, /* on-disk data failed its checksum/framing */
    TLD_EFORMAT = -15,  /* on-disk data of a format version this release does not know */
};

/*
 * Room for the reason behind an error, for functions whose failures need more than a code to be
 * acted on (a TLS alert, a certificate check, a registry line): they take `char why[TLD_WHY_MAX]`,
 * fill it only when they return an error, and leave the logging to the caller.
 */
#define TLD_WHY_MAX 256

/* A short static English text for an error code (never NULL). */
const char *tld_err_str(int err);

#endif
