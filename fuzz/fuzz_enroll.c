/*
 * libFuzzer harness: the enrollment request as the manager checks it before any state is
 * touched -- message decoding, agent name rules and the certificate request (PEM, signature,
 * key type) parsed by OpenSSL.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"
#include "manager/enroll_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_msg_enroll_req req;
    unsigned code = 0;
    char reason[TLD_WHY_MAX];
    int rc = tld_enroll_parse(tld_sv_make((const char *)data, size), &req, &code, reason);
    if (rc == 0) {
        if (!tld_proto_name_valid(req.name) || req.csr_pem.n == 0)
            __builtin_trap();
    } else if (code == 0 || reason[0] == 0) {
        __builtin_trap(); /* every refusal says why */
    }
    return 0;
}
