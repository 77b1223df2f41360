/* Texts for enum tld_err; kept beside the enum so a new code cannot go without a text. */
#include "common/err.h"

const char *tld_err_str(int err)
{
    switch (err) {
    case TLD_OK:
        return "success";
    case TLD_ENOMEM:
        return "out of memory";
    case TLD_EINVAL:
        return "invalid value";
    case TLD_EIO:
        return "input/output error";
    case TLD_EPARSE:
        return "parse error";
    case TLD_ELIMIT:
        return "limit reached";
    case TLD_ENOTFOUND:
        return "not found";
    case TLD_EEXIST:
        return "already exists";
    case TLD_EAGAIN:
        return "resource temporarily unavailable";
    case TLD_EPROTO:
        return "protocol error";
    case TLD_ETLS:
        return "TLS error";
    case TLD_ETIMEOUT:
        return "timed out";
    case TLD_ECLOSED:
        return "closed";
    case TLD_EAUTH:
        return "authentication refused";
    case TLD_ECORRUPT:
        return "corrupt data";
    case TLD_EFORMAT:
        return "written by a newer release (unknown format version)";
    }
    return "unknown error";
}
