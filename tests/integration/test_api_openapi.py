"""/openapi.json against the binary: every route of `tld-api routes` is in the document with
the same method and roles, and every operation of the document is a route (each missing one is
named, so a route added later must be described too); every query parameter the document lists
for a GET route is taken by the server, and a parameter it does not list is refused."""
import subprocess

from apilib import api_bin
from mgrlib import manager_factory  # noqa: F401
from test_api_auth import api, status_and_error  # noqa: F401 (api: the fixture)

# Values a parameter is tried with (the check is that the route takes it, not the answer).
VALUES = {"q": "rule.id:1", "from": "0", "to": "1", "limit": "1", "offset": "0",
          "sort": "+timestamp", "after": "1_1", "select": "rule.id", "fields": "rule.id",
          "interval": "1h", "field": "rule.id", "size": "1", "last_event_id": "0",
          "track_total_hits": "10",
          "search": "x", "pretty": "true", "wait_for_complete": "false",
          "rule_ids": "1", "level": "3", "group": "x", "filename": "x.xml",
          "relative_dirname": "etc/rules", "status": "all", "pci_dss": "x", "gdpr": "x",
          "hipaa": "x", "nist-800-53": "x", "tsc": "x", "gpg13": "x", "mitre": "T1",
          "decoder_names": "x", "parents": "true", "raw": "true", "overwrite": "false",
          "agents_list": "999", "name": "x", "ip": "127.0.0.1", "tag": "x"}
PATH_VALUES = {"id": "1.1", "file": "local_rules.xml", "token": "00000000"}


def binary_routes():
    r = subprocess.run([api_bin(), "routes"], stdout=subprocess.PIPE, timeout=30, check=True)
    table = {}
    for line in r.stdout.decode().splitlines():
        parts = line.split()
        table[(parts[0], parts[1])] = (set() if parts[2:] == ["(no", "token)"]
                                       else set(parts[2:]))
    return table


def test_openapi_matches_routes(api):
    tok = api.login()
    st, doc = api.json("GET", "/openapi.json", token=tok)
    assert st == 200 and doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops[(method.upper(), path)] = op
    routes = binary_routes()
    missing = sorted(f"{m} {p}" for (m, p) in routes if (m, p) not in ops)
    assert not missing, ("routes of `tld-api routes` missing from /openapi.json "
                         "(describe them in src/api/h_openapi.c): " + ", ".join(missing))
    extra = sorted(f"{m} {p}" for (m, p) in ops if (m, p) not in routes)
    assert not extra, "operations of /openapi.json that are not routes: " + ", ".join(extra)
    for key, op in ops.items():
        assert set(op["x-roles"]) == routes[key], (key, op["x-roles"], routes[key])
        assert op["summary"] and "200" in op["responses"], key
        scheme = "bearer" if routes[key] else "basic"
        assert op["security"] == [{scheme: []}], key
        for p in op["parameters"]:
            if p["in"] == "path":
                assert "{" + p["name"] + "}" in key[1] and p["required"], (key, p)
            else:
                assert p["in"] == "query" and p["name"] in VALUES, (key, p)

    # What the document lists is what the server takes (GET routes: the others change state).
    wrong = []
    for (method, path), op in sorted(ops.items()):
        if method != "GET":
            continue
        url = path
        for p in op["parameters"]:
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", PATH_VALUES[p["name"]])
        listed = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        for name in sorted(listed):
            st, body = status_and_error(api, "GET", f"{url}?{name}={VALUES[name]}", token=tok)
            if st == 400 and "not a parameter of this route" in body["detail"]:
                wrong.append(f"GET {path} refuses its listed parameter {name}")
        unlisted = sorted(set(VALUES) - listed)
        if unlisted:
            name = unlisted[0]
            st, body = status_and_error(api, "GET", f"{url}?{name}={VALUES[name]}", token=tok)
            if not (st == 400 and "not a parameter of this route" in body["detail"]):
                wrong.append(f"GET {path} takes {name}, which the document does not list")
    assert not wrong, "; ".join(wrong)
