"""tld-api's authentication and authorisation, end to end over HTTPS on loopback (no dockerd):
the first administrator's generated password, login with HTTP Basic for an Ed25519 token, every
route against every role (allowed or 403) and against missing, malformed, expired, forged,
`alg: none` and HS256-confused tokens (401), logout and revoke-all, a deleted user's token,
login throttling per user and per address, and the size limits on bodies and headers."""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import time

import pytest

from apilib import api_bin, make_manager_and_api
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401

# Every route of `tld-api routes` with the roles allowed on it; the test checks this table
# against the binary's, so a new route cannot go untested.
ROLES = ("administrator", "analyst", "readonly")
ROUTES = {
    ("GET", "/"): ROLES,
    ("POST", "/security/user/authenticate"): None,
    ("DELETE", "/security/user/authenticate"): ROLES,
    ("PUT", "/security/user/revoke"): ("administrator",),
    ("GET", "/security/users/me"): ROLES,
    ("GET", "/security/users"): ("administrator",),
    ("GET", "/alerts"): ROLES,
    ("GET", "/alerts/histogram"): ROLES,
    ("GET", "/alerts/terms"): ROLES,
    ("GET", "/alerts/export.csv"): ROLES,
    ("GET", "/alerts/stream"): ROLES,
    ("GET", "/alerts/{id}"): ROLES,
    ("GET", "/manager/info"): ROLES,
    ("GET", "/manager/status"): ROLES,
    ("GET", "/manager/stats"): ROLES,
    ("GET", "/mitre/tactics"): ROLES,
    ("GET", "/mitre/techniques"): ROLES,
    ("GET", "/metrics"): ROLES,
    ("GET", "/openapi.json"): ROLES,
    ("GET", "/rules"): ROLES,
    ("GET", "/rules/groups"): ROLES,
    ("GET", "/rules/files"): ROLES,
    ("GET", "/rules/files/{file}"): ROLES,
    ("PUT", "/rules/files/{file}"): ("administrator",),
    ("GET", "/decoders"): ROLES,
    ("GET", "/decoders/files"): ROLES,
    ("GET", "/decoders/files/{file}"): ROLES,
    ("PUT", "/decoders/files/{file}"): ("administrator",),
    ("GET", "/lists"): ROLES,
    ("GET", "/agents"): ROLES,
    ("GET", "/agents/summary/status"): ROLES,
    ("DELETE", "/agents"): ("administrator",),
    ("PUT", "/manager/analysisd/reload"): ("administrator",),
    ("GET", "/manager/logs"): ROLES,
    ("PUT", "/logtest"): ("administrator", "analyst"),
    ("DELETE", "/logtest/sessions/{token}"): ("administrator", "analyst"),
}
# What a route is called with in the tests ({id} filled, required parameters given). The
# changing routes are called so that they change nothing (an existing file without overwrite,
# an agent that does not exist).
CALL = {"/alerts/{id}": "/alerts/1.1", "/alerts/terms": "/alerts/terms?field=rule.id",
        "/rules/files/{file}": "/rules/files/local_rules.xml",
        "/decoders/files/{file}": "/decoders/files/local_decoder.xml",
        "/logtest/sessions/{token}": "/logtest/sessions/00000000",
        "/agents": "/agents?agents_list=999"}
# Routes that change state are called last, in this order, so the others still hold tokens.
CHANGES = [("DELETE", "/security/user/authenticate"), ("PUT", "/security/user/revoke")]
PASSWORD = "correct horse battery"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ed25519_sign(key_path, data, tmp_path):
    msg = tmp_path / "msg.bin"
    msg.write_bytes(data)
    r = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(key_path),
                        "-in", str(msg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def mint(key_path, tmp_path, header=None, **claims):
    """A token signed with the given Ed25519 key (the API's own key makes a token it trusts)."""
    now = int(time.time())
    body = {"iss": "threatlockdown", "sub": "admin", "role": "administrator", "iat": now,
            "iat_ms": now * 1000, "exp": now + 600}
    body.update(claims)
    h = b64u(json.dumps(header or {"alg": "EdDSA", "typ": "JWT"}).encode())
    p = b64u(json.dumps(body).encode())
    sig = ed25519_sign(key_path, f"{h}.{p}".encode(), tmp_path)
    return f"{h}.{p}.{b64u(sig)}"


@pytest.fixture
def api(manager_factory, tmp_path):  # noqa: F811
    rs = minimal_ruleset(str(tmp_path / "rs"))
    m, a = make_manager_and_api(manager_factory, ruleset_src=rs,
                                extra="<store><backend>sqlite</backend></store>")
    m.start()
    a.start()
    a.manager = m
    yield a
    a.stop()
    m.stop()


def call_path(path):
    return CALL.get(path, path)


def test_first_start_and_route_table(api):
    pw_file = os.path.join(api.root, "etc/api/admin.password")
    assert stat.S_IMODE(os.stat(pw_file).st_mode) == 0o600
    pw = api.admin_password
    assert len(pw) >= 20
    out = open(api.stdout).read()
    assert out.count(pw) == 1, "the password is shown once at first start"
    assert pw not in open(api.logfile).read(), "the password never goes to the log"
    users = open(os.path.join(api.root, "etc/api/users")).read()
    assert pw not in users and "$scrypt$" in users
    # A restart keeps the password and shows nothing.
    api.stop()
    api.start()
    assert open(api.stdout).read().count(pw) == 1
    assert api.login() and api.admin_password == pw
    # The binary's route table is the one tested here.
    r = subprocess.run([api_bin(), "routes"], stdout=subprocess.PIPE, timeout=30, check=True)
    table = {}
    for line in r.stdout.decode().splitlines():
        parts = line.split()
        roles = None if parts[2:] == ["(no", "token)"] else tuple(parts[2:])
        table[(parts[0], parts[1])] = roles
    assert table == ROUTES


def test_login(api):
    tok = api.login()
    h, p, s = tok.split(".")
    assert json.loads(base64.urlsafe_b64decode(h + "==")) == {"alg": "EdDSA", "typ": "JWT"}
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    assert claims["sub"] == "admin" and claims["role"] == "administrator"
    assert claims["exp"] - claims["iat"] == 900
    assert len(base64.urlsafe_b64decode(s + "==")) == 64
    st, doc = api.json("POST", "/security/user/authenticate", basic=("admin", "wrong-password"))
    assert st == 401 and doc["error"] == 401
    st, hdr, _ = api.request("POST", "/security/user/authenticate")
    assert st == 401 and hdr.get("www-authenticate", "").startswith("Basic")
    st, doc = api.json("GET", "/security/users/me", token=tok)
    assert st == 200
    assert doc["data"]["affected_items"] == [{"username": "admin", "roles": ["administrator"]}]
    assert doc["data"]["total_affected_items"] == 1 and doc["error"] == 0


def status_and_error(api, method, path, **kw):
    """The status of a call, and its error body (JSON) when it is one. A streamed answer (CSV,
    Server-Sent Events, which never ends) is not read past its headers."""
    h = {}
    if kw.get("token"):
        h["Authorization"] = f"Bearer {kw['token']}"
    if kw.get("basic"):
        h["Authorization"] = "Basic " + base64.b64encode(
            f"{kw['basic'][0]}:{kw['basic'][1]}".encode()).decode()
    c = api.connect()
    try:
        c.request(method, path, headers=h)
        r = c.getresponse()
        ctype = r.getheader("Content-Type", "")
        if r.status >= 400 or ctype.startswith("application/json"):
            body = r.read()
            return r.status, json.loads(body) if body else None
        return r.status, ctype
    finally:
        c.close()


def test_every_route_by_role(api):
    api.add_user("ana", "analyst", PASSWORD)
    api.add_user("rob", "readonly", PASSWORD)
    tokens = {"administrator": api.login(), "analyst": api.login("ana", PASSWORD),
              "readonly": api.login("rob", PASSWORD)}
    order = [r for r in ROUTES if r not in CHANGES] + CHANGES
    for (method, path) in order:
        allowed = ROUTES[(method, path)]
        if allowed is None:
            continue
        for role in reversed(ROLES):  # the administrator's revoke-all comes last
            if (method, path) in CHANGES:
                tokens[role] = api.login(*{"administrator": ("admin", None),
                                           "analyst": ("ana", PASSWORD),
                                           "readonly": ("rob", PASSWORD)}[role])
            st, body = status_and_error(api, method, call_path(path), token=tokens[role])
            if role in allowed:
                assert st not in (401, 403), f"{role} {method} {path}: {st} {body}"
            else:
                assert st == 403, f"{role} {method} {path}: {st} {body}"
                assert body == {"title": "Permission Denied",
                                "detail": "the user's role may not use this route", "error": 403}


def test_bad_tokens_on_every_route(api, tmp_path):
    key = os.path.join(api.root, "etc/api/jwt.key")
    other = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(other)],
                   check=True, timeout=30, stdout=subprocess.DEVNULL)
    good = api.login()
    h, p, s = good.split(".")
    now = int(time.time())
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], stdout=subprocess.PIPE,
                         check=True, timeout=30).stdout
    hs_head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    hs_sig = b64u(hmac.new(pub, f"{hs_head}.{p}".encode(), hashlib.sha256).digest())
    none_head = b64u(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
    bad = {
        "malformed": "not-a-token",
        "expired": mint(key, tmp_path, exp=now - 1, iat=now - 901, iat_ms=(now - 901) * 1000),
        "forged signature": mint(other, tmp_path),
        "flipped signature": f"{h}.{p}.{flipped}",
        "alg none": f"{none_head}.{p}.",
        "alg none with signature": f"{none_head}.{p}.{s}",
        "HS256 with the public key": f"{hs_head}.{p}.{hs_sig}",
        "EdDSA with a jwk header": mint(key, tmp_path, header={"alg": "EdDSA", "jwk": {}}),
        "unknown user": mint(key, tmp_path, sub="nobody"),
        "payload swapped": f"{h}.{b64u(json.dumps({'sub': 'admin'}).encode())}.{s}",
    }
    # The API's own key signs a token it trusts: the minting itself is right.
    assert api.request("GET", "/", token=mint(key, tmp_path))[0] == 200
    for (method, path), roles in ROUTES.items():
        if roles is None:
            continue
        st, _ = status_and_error(api, method, call_path(path))
        assert st == 401, f"no token {method} {path}: {st}"
        st, _ = status_and_error(api, method, call_path(path),
                                 basic=("admin", api.admin_password))
        assert st == 401, f"basic instead of a token {method} {path}: {st}"
        for what, tok in bad.items():
            st, body = status_and_error(api, method, call_path(path), token=tok)
            assert st == 401, f"{what} {method} {path}: {st} {body}"


def test_logout_revoke_and_deleted_user(api):
    api.add_user("ana", "analyst", PASSWORD)
    a1 = api.login()
    n1 = api.login("ana", PASSWORD)
    # Logout revokes the caller's tokens only.
    assert api.request("DELETE", "/security/user/authenticate", token=a1)[0] == 200
    assert api.request("GET", "/", token=a1)[0] == 401
    assert api.request("GET", "/", token=n1)[0] == 200
    a2 = api.login()
    assert api.request("GET", "/", token=a2)[0] == 200
    # Revoke-all: every token issued before it, of every user.
    assert api.request("PUT", "/security/user/revoke", token=n1)[0] == 403
    assert api.request("PUT", "/security/user/revoke", token=a2)[0] == 200
    assert api.request("GET", "/", token=a2)[0] == 401
    assert api.request("GET", "/", token=n1)[0] == 401
    a3 = api.login()
    n2 = api.login("ana", PASSWORD)
    assert api.request("GET", "/", token=a3)[0] == 200
    # A deleted user's token stops working at once (the file is read again when it changes).
    r = api.cli("user", "del", "ana")
    assert r.returncode == 0, r.stderr
    assert api.request("GET", "/", token=n2)[0] == 401
    assert api.json("POST", "/security/user/authenticate", basic=("ana", PASSWORD))[0] == 401
    st, doc = api.json("GET", "/security/users", token=a3)
    assert [u["username"] for u in doc["data"]["affected_items"]] == ["admin"]


def test_login_throttling(manager_factory, tmp_path):  # noqa: F811
    m, a = make_manager_and_api(
        manager_factory, api_extra="<login_failures>3</login_failures>"
                                   "<login_lockout>3</login_lockout>")
    a.start()
    try:
        a.add_user("ana", "analyst", PASSWORD)
        for _ in range(3):
            assert a.json("POST", "/security/user/authenticate", basic=("ana", "nope-nope"))[0] \
                == 401
        # Locked: even the right password is refused, and so is another user from this address.
        st, hdr, _ = a.request("POST", "/security/user/authenticate", basic=("ana", PASSWORD))
        assert st == 429 and int(hdr["retry-after"]) >= 1
        st, _, _ = a.request("POST", "/security/user/authenticate",
                             basic=("admin", a.admin_password))
        assert st == 429
        # The lockout runs out.
        time.sleep(3.2)
        assert a.login("ana", PASSWORD)
        assert "login refused for 'ana' from 127.0.0.1" in open(a.logfile).read()
    finally:
        a.stop()


def test_rate_limit_per_user(manager_factory, tmp_path):  # noqa: F811
    """<max_request_per_minute>: a bucket per user (not per token), 429 with Retry-After when it
    is empty, other users untouched, logins not counted; it refills as time goes."""
    m, a = make_manager_and_api(manager_factory,
                                api_extra="<max_request_per_minute>20</max_request_per_minute>")
    a.start()
    try:
        a.add_user("ana", "analyst", PASSWORD)
        tok = a.login()
        t0, passed = time.monotonic(), 0
        while True:
            st, hdr, body = a.request("GET", "/security/users/me", token=tok)
            if st != 200:
                break
            passed += 1
            assert passed <= 40, "never limited"
        elapsed = time.monotonic() - t0
        # A minute's worth (20) at once, plus one per 3 s regained meanwhile.
        assert 20 <= passed <= 20 + int(elapsed / 3) + 1, (passed, elapsed)
        doc = json.loads(body)
        assert st == 429 and doc["error"] == 429 and "max_request_per_minute" in doc["detail"]
        assert 1 <= int(hdr["retry-after"]) <= 3
        # Another user has a bucket of its own; a new token of the same user shares the old one.
        n = a.login("ana", PASSWORD)
        assert a.request("GET", "/security/users/me", token=n)[0] == 200
        tok2 = a.login()
        st, hdr, _ = a.request("GET", "/", token=tok2)
        assert st == 429
        time.sleep(int(hdr["retry-after"]) + 0.3)
        assert a.request("GET", "/", token=tok2)[0] == 200
        # Every route with a token counts, the alert routes too; bad parameters as well.
        st = 200
        for _ in range(10):
            st = a.request("GET", "/alerts", token=tok, params={"limit": "1"})[0]
            if st == 429:
                break
        assert st == 429
    finally:
        a.stop()


AUDIT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ user=(\S+) addr=127\.0\.0\.1 "
                        r"(POST|DELETE|PUT) (/security/user/authenticate|/security/user/revoke): "
                        r"(.+)$")


def test_audit_of_logins_logouts_and_revocations(manager_factory, tmp_path):  # noqa: F811
    """logs/api-audit.log has a line for each login (issued or refused, a made-up user name
    included, shown so it cannot forge a line), each logout and each revoke-all, in the format
    of the ruleset and agent changes."""
    m, a = make_manager_and_api(
        manager_factory, api_extra="<login_failures>2</login_failures>"
                                   "<login_lockout>30</login_lockout>")
    a.start()
    try:
        a.add_user("ana", "analyst", PASSWORD)
        audit = os.path.join(a.root, "logs/api-audit.log")
        tok = a.login()
        assert a.json("POST", "/security/user/authenticate", basic=("ana", "wrong-one"))[0] == 401
        forged = "x\nuser=admin addr=10.0.0.1"
        assert a.json("POST", "/security/user/authenticate", basic=(forged, "pw-pw-pw"))[0] == 401
        # The address is locked now: a refused attempt is logged as such.
        assert a.json("POST", "/security/user/authenticate", basic=("ana", PASSWORD))[0] == 429
        assert a.request("DELETE", "/security/user/authenticate", token=tok)[0] == 200
        lines = open(audit).read().splitlines()
        assert oct(os.stat(audit).st_mode & 0o777) == "0o600"
        parsed = [AUDIT_LINE.match(l) for l in lines]
        assert all(parsed), lines
        got = [(p.group(1), p.group(2), p.group(4)) for p in parsed]
        assert got == [
            ("admin", "POST", "login: token issued (administrator, 900 s)"),
            ("ana", "POST", "login refused: unknown user or wrong password"),
            ("x?user=admin?addr=10.0.0.1", "POST",
             "login refused: unknown user or wrong password"),
            ("ana", "POST", "login refused: locked out after failed logins"),
            ("admin", "DELETE", "logout: the user's tokens revoked"),
        ], lines
    finally:
        a.stop()
    # Revoke-all, on a fresh API process (the address above stays locked in the first one).
    m, a = make_manager_and_api(manager_factory)
    a.start()
    try:
        tok = a.login()
        assert a.request("PUT", "/security/user/revoke", token=tok)[0] == 200
        lines = open(os.path.join(a.root, "logs/api-audit.log")).read().splitlines()
        got = [AUDIT_LINE.match(l).group(1, 2, 4) for l in lines]
        assert got[-2:] == [("admin", "POST", "login: token issued (administrator, 900 s)"),
                       ("admin", "PUT", "revoke-all: every user's tokens revoked")], lines
    finally:
        a.stop()


def test_size_limits_and_tls(api):
    tok = api.login()
    # A body over <max_body> (64 KiB by default) is refused before it is read.
    # Only the headers are sent: an answer that comes without the body proves it was not read
    # (sending the body too races with the server closing and can end in a reset).
    c = api.connect()
    try:
        c.putrequest("POST", "/security/user/authenticate")
        c.putheader("Authorization", "Basic " + base64.b64encode(
            f"admin:{api.admin_password}".encode()).decode())
        c.putheader("Content-Length", str(200 << 10))
        c.endheaders()
        assert c.getresponse().status == 413
    finally:
        c.close()
    # Headers over the connection's memory (32 KiB) are refused; 20 KiB still pass.
    st, _, _ = api.request("GET", "/", token=tok, headers={"X-Big": "y" * (100 << 10)})
    assert st == 431
    assert api.request("GET", "/", token=tok, headers={"X-Big": "y" * (20 << 10)})[0] == 200
    # Too many parameters, an unknown one, a value out of form.
    params = [(f"p{i}", "1") for i in range(100)]
    st, _, _ = api.request("GET", "/alerts", token=tok, params=params)
    assert st == 400
    st, doc = api.json("GET", "/alerts", token=tok, params={"bogus": "1"})
    assert st == 400 and doc["detail"] == "bogus: unknown parameter"
    st, doc = api.json("GET", "/alerts", token=tok, params={"limit": "0"})
    assert st == 400
    assert api.request("GET", "/nowhere", token=tok)[0] == 404
    assert api.request("POST", "/alerts", token=tok)[0] == 405
    # Plain HTTP on the TLS port gets no answer in HTTP.
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        assert not data.startswith(b"HTTP/1.1 200")
    # The certificate is the CA's, for 127.0.0.1 (the client checks host name and chain).
    ctx = ssl.create_default_context(cafile=os.path.join(api.root, "var/ca/ca.crt"))
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            cert = s.getpeercert()
            assert ("organizationalUnitName", "api") in [x[0] for x in cert["subject"]]
            assert s.version() in ("TLSv1.2", "TLSv1.3")


def test_manager_routes(api):
    tok = api.login()
    st, doc = api.json("GET", "/manager/info", token=tok)
    info = doc["data"]["affected_items"][0]
    assert st == 200 and info["path"] == api.root and info["store"] == "sqlite"
    assert info["api_port"] == api.port and info["version"]
    st, doc = api.json("GET", "/manager/status", token=tok)
    assert doc["data"]["affected_items"] == [{"tld-manager": "running", "tld-api": "running"}]
    st, doc = api.json("GET", "/manager/stats", token=tok)
    stats = doc["data"]["affected_items"][0]
    assert st == 200 and stats["pid"] == api.manager.proc.pid and "analysis" in stats
    # The API goes on without the manager, and says so.
    api.manager.stop()
    st, doc = api.json("GET", "/manager/status", token=tok)
    assert doc["data"]["affected_items"] == [{"tld-manager": "stopped", "tld-api": "running"}]
    assert api.request("GET", "/", token=tok)[0] == 200


def test_mitre_routes(api):
    tok = api.login()
    st, doc = api.json("GET", "/mitre/tactics", token=tok)
    items = doc["data"]["affected_items"]
    assert st == 200 and doc["data"]["total_affected_items"] == len(items) == 14
    assert {"external_id": "TA0001", "name": "Initial Access"} in items
    st, doc = api.json("GET", "/mitre/techniques", token=tok, params={"search": "t1190"})
    assert doc["data"]["affected_items"] == [{"external_id": "T1190",
                                              "name": "Exploit Public-Facing Application",
                                              "tactics": ["Initial Access"]}]
    st, doc = api.json("GET", "/mitre/techniques", token=tok, params={"search": "brute"})
    assert [t["external_id"] for t in doc["data"]["affected_items"]] == ["T1110"]
    st, doc = api.json("GET", "/mitre/techniques", token=tok, params={"search": "T1110."})
    assert {"external_id": "T1110.001", "name": "Password Guessing",
            "tactics": ["Credential Access"]} in doc["data"]["affected_items"]
    # Paging: the total counts every match, the page holds `limit` from `offset`.
    st, doc = api.json("GET", "/mitre/techniques", token=tok)
    assert len(doc["data"]["affected_items"]) == 500  # Wazuh's default limit
    st, doc = api.json("GET", "/mitre/techniques", token=tok, params={"limit": "1000"})
    total = doc["data"]["total_affected_items"]
    every = doc["data"]["affected_items"]
    assert total == len(every) > 500
    st, doc = api.json("GET", "/mitre/techniques", token=tok,
                       params={"offset": "10", "limit": "5"})
    assert doc["data"]["affected_items"] == every[10:15]
    assert doc["data"]["total_affected_items"] == total
    assert api.request("GET", "/mitre/techniques", token=tok, params={"q": "x"})[0] == 400
