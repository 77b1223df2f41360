/*
 * IP lists of rule <srcip>/<dstip> (regex.md §7). Each element adds one entry: an IPv4 address
 * with an optional /NN prefix or /m.m.m.m netmask, an IPv6 address with an optional /prefix
 * (default /128), an IPv4-mapped IPv6 address (treated as the IPv4 address), or `any`; a leading
 * `!` negates the entry. Matching scans the entries in order and, once a negated entry has been
 * seen, flips the answer for the rest of the scan, exactly as the original engine does.
 *
 * A list is built at load time and read-only afterwards (safe to share between threads);
 * matching allocates nothing. At most TLD_IPLIST_MAX entries per list.
 */
#ifndef TLD_ENGINE_IPLIST_H
#define TLD_ENGINE_IPLIST_H

#include <stdbool.h>
#include <stddef.h>

#define TLD_IPLIST_MAX 1024
/* Longest entry or event value considered (an IPv6 text with prefix is at most 50 bytes). */
#define TLD_IPLIST_TEXT_MAX 64

struct tld_iplist;

struct tld_iplist *tld_iplist_new(void);
void tld_iplist_free(struct tld_iplist *list);
/*
 * Add the entry text[0..n). Returns 0, TLD_EPARSE for an invalid entry (reason in err, which may
 * be NULL), TLD_ELIMIT past TLD_IPLIST_MAX entries, or TLD_ENOMEM.
 */
int tld_iplist_add(struct tld_iplist *list, const char *text, size_t n, char *err, size_t errsz);
size_t tld_iplist_count(const struct tld_iplist *list);
/*
 * The list's verdict for the event value value[0..n): false when the value is not an IP address;
 * otherwise the first matching entry decides (true before any negated entry was seen, false
 * after); with no matching entry the answer is false, or true once a negated entry was seen.
 */
bool tld_iplist_match(const struct tld_iplist *list, const char *value, size_t n);

#endif
