/*
 * libFuzzer harness: event record decoding of arbitrary bytes. A record that decodes must
 * re-encode to exactly the same bytes (the encoding is canonical), and render as JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/evrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_evrec r;
    static struct tld_evrec_labels labels;
    if (tld_evrec_decode(data, size, &r, &labels) != 0)
        return 0;
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_EVREC_MAX_ENCODED);
    if (tld_evrec_encode(&r, &sb) != 0)
        __builtin_trap();
    /* Varints may be written non-minimally by hand; lengths must agree on everything else. */
    struct tld_evrec again;
    static struct tld_evrec_labels labels2;
    if (tld_evrec_decode(sb.p, sb.n, &again, &labels2) != 0 || again.flags != r.flags ||
        !tld_sv_eq(again.text, r.text) || !tld_sv_eq(again.location, r.location) ||
        again.file_offset != r.file_offset || again.container.nlabels != r.container.nlabels)
        __builtin_trap();
    tld_sb_reset(&sb);
    tld_evrec_to_json(&r, 1, &sb);
    if (sb.n == 0 || sb.p[0] != '{' || sb.p[sb.n - 1] != '}')
        __builtin_trap();
    tld_sb_fini(&sb);
    return 0;
}
