/*
 * libFuzzer harness: the Engine's /events stream. The first byte picks a chunk size; the rest
 * is fed to the line splitter in chunks of that size (so lines cross chunk boundaries), and
 * every line goes to the event parser. Checks: lines never exceed the bound, parsed fields are
 * NUL-terminated within their arrays, the raw view stays inside the line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/docker/events.h"

static bool on_line(void *ctx, struct tld_sv l)
{
    (void)ctx;
    if (l.n > TLD_EVENTS_MAX_LINE)
        __builtin_trap();
    struct tld_docker_event ev;
    if (tld_docker_event_parse(l, &ev) == 0) {
        if (ev.raw.p != l.p || ev.raw.n != l.n ||
            strnlen(ev.type, sizeof ev.type) == sizeof ev.type ||
            strnlen(ev.action, sizeof ev.action) == sizeof ev.action ||
            strnlen(ev.id, sizeof ev.id) == sizeof ev.id ||
            strnlen(ev.name, sizeof ev.name) == sizeof ev.name)
            __builtin_trap();
        (void)tld_docker_event_hash(ev.raw);
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++, size--;
    struct tld_events_splitter s;
    tld_events_splitter_init(&s);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        tld_events_feed(&s, (const char *)data + off, n, on_line, NULL);
        if (s.buf.n > TLD_EVENTS_MAX_LINE)
            __builtin_trap();
    }
    tld_events_splitter_fini(&s);
    return 0;
}
