/*
 * Ruleset XML shown as JSON in the API's answers, one way for every route: an element's text
 * as a string, an element with attributes as {"pattern": text, attribute: value, ...} (Wazuh's
 * `details`), and a whole file as nested objects ("@attr", children by name, arrays when an
 * element repeats).
 */
#ifndef TLD_API_XMLJSON_H
#define TLD_API_XMLJSON_H

#include <cjson/cJSON.h>

#include "common/str.h"
#include "common/xml.h"

/* A JSON string of the view's bytes. */
cJSON *tld_api_json_sv(struct tld_sv s);

/*
 * An element's attributes (but those in skip_attrs) and children (but those in skip_children;
 * a repeated child once, its first) as Wazuh's `details` object. Lists are NULL-terminated.
 */
cJSON *tld_api_xml_details(const struct tld_xml_node *n, const char *const *skip_attrs,
                           const char *const *skip_children);

/* An element and everything under it. */
cJSON *tld_api_xml_json(const struct tld_xml_node *n);

#endif
