"""tld-api's ruleset, logtest, agent and manager-control routes against a real tld-api on a
private root, with no manager and no dockerd: the manager's side of the control channel is a
small fake in this file that speaks docs/api.md's protocol (one JSON line each way), so the
tests can make it accept, refuse or vanish. Covered: /rules (items, every filter, paging,
sort, select, search), /rules/groups, /rules/files, /decoders, /decoders/files, /lists, the
file routes (raw and JSON, path traversal refused), PUT of local files (validated, written,
reloaded; restored when the reload fails or the manager is not there; audit lines), PUT
/logtest sessions, /agents, the status summary, DELETE /agents, the reload route and
/manager/logs."""
import json
import os
import socket
import threading
import urllib.parse

import pytest

from apilib import Api
from mgrlib import TEMPLATE_RULES, free_ports, write

DECODERS = """<decoder name="sshd">
  <program_name>^sshd</program_name>
</decoder>

<decoder name="sshd-fail">
  <parent>sshd</parent>
  <prematch>^Failed password for </prematch>
  <regex offset="after_prematch">^(\\S+) from (\\S+)</regex>
  <order>user, srcip</order>
</decoder>
"""

RULES = """<group name="syslog,sshd,">
  <rule id="5700" level="0" noalert="1">
    <decoded_as>sshd</decoded_as>
    <description>SSHD messages grouped.</description>
  </rule>
  <rule id="5716" level="5">
    <if_sid>5700</if_sid>
    <match>^Failed password</match>
    <description>sshd: authentication failed.</description>
    <mitre><id>T1110</id></mitre>
    <group>authentication_failed,pci_dss_10.2.4,gdpr_IV_35.7.d,</group>
  </rule>
  <rule id="5720" level="10" frequency="3" timeframe="120">
    <if_matched_sid>5716</if_matched_sid>
    <same_source_ip />
    <description>sshd: multiple authentication failures.</description>
    <group>authentication_failures,pci_dss_11.4,</group>
  </rule>
</group>
"""

EXCLUDED = """<group name="old,">
  <rule id="9000" level="3"><match>x</match><description>old</description></rule>
</group>
"""

LOCAL_RULES = """<group name="local,">
  <rule id="100001" level="7">
    <if_sid>5716</if_sid>
    <user>root</user>
    <description>root login failed</description>
  </rule>
</group>
"""

SSH_FAIL = "Dec  7 10:00:00 host1 sshd[123]: Failed password for root from 10.0.0.9 port 22 ssh2"


class FakeManager:
    """The manager's end of the control channel: answers each op from `replies` (a dict of op
    to reply dict, or a callable taking the request) and records the requests."""

    def __init__(self, root):
        self.path = os.path.join(root, "var/run/tld-manager.ctl")
        self.requests = []
        self.replies = {}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.settimeout(10)
                data = b""
                while not data.endswith(b"\n"):
                    got = c.recv(65536)
                    if not got:
                        break
                    data += got
                req = json.loads(data)
                self.requests.append(req)
                rep = self.replies.get(req.get("op"))
                if callable(rep):
                    rep = rep(req)
                if rep is None:
                    rep = {"error": 22, "message": f"unknown op '{req.get('op')}'"}
                c.sendall(json.dumps(rep).encode() + b"\n")

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)
        if os.path.exists(self.path):
            os.unlink(self.path)


def make_root(base):
    root = os.path.join(base, "root")
    write(os.path.join(root, "ruleset/decoders/0310-ssh_decoders.xml"), DECODERS)
    write(os.path.join(root, "ruleset/rules/0010-rules_config.xml"), TEMPLATE_RULES)
    write(os.path.join(root, "ruleset/rules/0095-sshd_rules.xml"), RULES)
    write(os.path.join(root, "ruleset/rules/0999-old_rules.xml"), EXCLUDED)
    write(os.path.join(root, "etc/rules/local_rules.xml"), LOCAL_RULES)
    write(os.path.join(root, "etc/decoders/local_decoder.xml"), "<!-- none -->\n")
    write(os.path.join(root, "etc/lists/bad-users"), "root:admin account\nguest:\n")
    os.makedirs(os.path.join(root, "var/run"), exist_ok=True)
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    port = free_ports(1)[0]
    write(os.path.join(root, "etc/manager.conf"), f"""<ossec_config>
  <alerts><log_alert_level>3</log_alert_level></alerts>
  <ruleset>
    <decoder_dir>ruleset/decoders</decoder_dir>
    <rule_dir>ruleset/rules</rule_dir>
    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
    <rule_exclude>0999-old_rules.xml</rule_exclude>
  </ruleset>
  <api><port>{port}</port><local_ip>127.0.0.1</local_ip></api>
</ossec_config>
""")
    return root, port


@pytest.fixture
def api(tmp_path):
    root, port = make_root(str(tmp_path))
    a = Api(root, port).start()
    a.token = a.login()
    yield a
    a.stop()


@pytest.fixture
def mgr(api):
    m = FakeManager(api.root)
    m.replies["reload"] = {"error": 0, "message": "reloaded", "rules": 4, "decoders": 2,
                           "lists": 1}
    yield m
    m.stop()


def get(api, path, **params):
    st, doc = api.json("GET", path + ("?" + urllib.parse.urlencode(params) if params else ""),
                       token=api.token)
    return st, doc


def items(api, path, **params):
    st, doc = get(api, path, **params)
    assert st == 200, doc
    return doc["data"]["affected_items"], doc["data"]["total_affected_items"]


def test_rules(api):
    its, total = items(api, "/rules")
    assert total == 5 and [i["id"] for i in its] == [1, 5700, 5716, 5720, 100001]
    its = its[1:]
    r = its[1]
    assert r["level"] == 5 and r["description"] == "sshd: authentication failed."
    assert r["groups"] == ["syslog", "sshd", "authentication_failed"]
    assert r["pci_dss"] == ["10.2.4"] and r["gdpr"] == ["IV_35.7.d"] and r["mitre"] == ["T1110"]
    assert r["hipaa"] == [] and r["nist_800_53"] == [] and r["tsc"] == [] and r["gpg13"] == []
    assert r["filename"] == "0095-sshd_rules.xml" and r["relative_dirname"] == "ruleset/rules"
    assert r["status"] == "enabled"
    assert r["details"] == {"if_sid": "5700", "match": "^Failed password"}
    assert its[2]["details"]["frequency"] == "3" and its[2]["details"]["same_source_ip"] == ""
    assert its[3]["relative_dirname"] == "etc/rules"
    # Filters.
    ids = lambda **p: [i["id"] for i in items(api, "/rules", **p)[0]]  # noqa: E731
    assert ids(rule_ids="5716,100001") == [5716, 100001]
    assert ids(level="5") == [5716]
    assert ids(level="5-10") == [5716, 5720, 100001]
    assert ids(group="authentication_failures") == [5720]
    assert ids(filename="local_rules.xml") == [100001]
    assert ids(relative_dirname="etc/rules") == [100001]
    assert ids(pci_dss="11.4") == [5720]
    assert ids(gdpr="IV_35.7.d") == [5716]
    assert ids(mitre="T1110") == [5716]
    assert ids(search="multiple") == [5720]
    assert ids(search="-sshd") == [1, 100001]
    assert ids(status="disabled") == []
    # Paging, sort, select.
    its, total = items(api, "/rules", offset="1", limit="2")
    assert total == 5 and [i["id"] for i in its] == [5700, 5716]
    assert ids(sort="-level") == [5720, 100001, 5716, 1, 5700]
    assert ids(sort="+level,-id") == [5700, 1, 5716, 100001, 5720]
    its, _ = items(api, "/rules", select="level,details.if_sid", rule_ids="5716")
    assert its == [{"id": 5716, "level": 5, "details": {"if_sid": "5700"}}]
    for bad in ({"level": "x"}, {"level": "10-3"}, {"sort": "nosuchfield"},
                {"select": "nosuchfield"}, {"raw": "true"}, {"sort": "level;DROP"}):
        st, doc = get(api, "/rules", **bad)
        assert st == 400, (bad, doc)
    groups, _ = items(api, "/rules/groups")
    assert groups == sorted(["syslog", "sshd", "authentication_failed",
                             "authentication_failures", "local"])


def test_files_decoders_lists(api):
    its, _ = items(api, "/rules/files")
    assert {(i["filename"], i["relative_dirname"], i["status"]) for i in its} == {
        ("0010-rules_config.xml", "ruleset/rules", "enabled"),
        ("0095-sshd_rules.xml", "ruleset/rules", "enabled"),
        ("0999-old_rules.xml", "ruleset/rules", "disabled"),
        ("local_rules.xml", "etc/rules", "enabled")}
    its, _ = items(api, "/rules/files", status="disabled")
    assert [i["filename"] for i in its] == ["0999-old_rules.xml"]
    its, _ = items(api, "/decoders/files")
    assert [i["filename"] for i in its] == ["0310-ssh_decoders.xml", "local_decoder.xml"]
    its, total = items(api, "/decoders")
    assert total == 2 and [d["name"] for d in its] == ["sshd", "sshd-fail"]
    assert [d["position"] for d in its] == [0, 1]
    assert its[1]["details"]["parent"] == "sshd"
    assert its[1]["details"]["regex"] == {"pattern": "^(\\S+) from (\\S+)",
                                          "offset": "after_prematch"}
    its, _ = items(api, "/decoders", parents="true")
    assert len(its) == 1 and "parent" not in its[0]["details"]
    its, _ = items(api, "/lists")
    assert its == [{"items": [{"key": "root", "value": "admin account"},
                              {"key": "guest", "value": ""}],
                    "relative_dirname": "etc/lists", "filename": "bad-users"}]
    # One file, raw and as JSON.
    st, hdr, body = api.request("GET", "/rules/files/local_rules.xml?raw=true", token=api.token)
    assert st == 200 and hdr["content-type"] == "application/xml"
    assert body.decode() == LOCAL_RULES
    its, _ = items(api, "/rules/files/0095-sshd_rules.xml")
    assert its[0]["group"]["@name"] == "syslog,sshd,"
    assert [r["@id"] for r in its[0]["group"]["rule"]] == ["5700", "5716", "5720"]
    st, _, body = api.request("GET", "/decoders/files/0310-ssh_decoders.xml?raw=true",
                              token=api.token)
    assert st == 200 and body.decode() == DECODERS
    assert get(api, "/rules/files/nosuch.xml")[0] == 404


def test_path_traversal_refused(api, tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret/>")
    os.symlink(str(secret), os.path.join(api.root, "etc/rules/evil.xml"))
    os.symlink("/etc/passwd", os.path.join(api.root, "etc/rules/passwd.xml"))
    tries = ["/rules/files/../../etc/manager.conf", "/rules/files/..%2F..%2Fetc%2Fmanager.conf",
             "/rules/files/%2e%2e%2f%2e%2e%2fetc%2fmanager.conf", "/rules/files/%2e%2e",
             "/rules/files/..", "/rules/files/%2Fetc%2Fpasswd", "/rules/files//etc/passwd",
             "/rules/files/evil.xml", "/rules/files/passwd.xml",
             "/decoders/files/..%2f..%2frules%2flocal_rules.xml",
             "/rules/files/evil.xml?raw=true", "/rules/files/passwd.xml?raw=true"]
    for path in tries:
        st, _, body = api.request("GET", path, token=api.token)
        assert st in (400, 404), (path, st, body)
        assert b"secret" not in body and b"root:" not in body and b"<api>" not in body
    names = [i["filename"] for i in items(api, "/rules/files")[0]]
    assert "evil.xml" not in names and "passwd.xml" not in names
    for path in ["/rules/files/..%2Fmanager.conf", "/rules/files/evil.xml",
                 "/rules/files/%2e%2e%2fx.xml", "/rules/files/.hidden.xml",
                 "/rules/files/0095-sshd_rules.xml", "/rules/files/x.txt"]:
        st, _, body = api.request("PUT", path + "?overwrite=true", token=api.token,
                                  body=b"<group name=\"x,\"></group>")
        assert st in (400, 404, 405), (path, st, body)
    assert open(str(secret)).read() == "<secret/>"
    assert open(os.path.join(api.root, "ruleset/rules/0095-sshd_rules.xml")).read() == RULES


def put_rules(api, name, text, **params):
    q = ("?" + urllib.parse.urlencode(params)) if params else ""
    return api.json("PUT", f"/rules/files/{name}{q}", token=api.token, body=text.encode(),
                    headers={"Content-Type": "application/octet-stream"})


def test_put_validates_writes_reloads_and_restores(api, mgr):
    local = os.path.join(api.root, "etc/rules/local_rules.xml")
    audit = os.path.join(api.root, "logs/api-audit.log")
    new = LOCAL_RULES.replace("root login failed", "root login failed again")
    # An existing file wants overwrite=true.
    st, doc = put_rules(api, "local_rules.xml", new)
    assert st == 400 and "overwrite" in doc["detail"]
    # A broken rule: 400 naming the file, the line and the element; nothing written or sent.
    broken = LOCAL_RULES.replace("<if_sid>5716</if_sid>", "<if_sid>5716</if_sid>\n"
                                 "    <nosuch_option>1</nosuch_option>")
    st, doc = put_rules(api, "local_rules.xml", broken, overwrite="true")
    assert st == 400, doc
    errs = doc["errors"]
    assert errs and errs[0]["file"] == "etc/rules/local_rules.xml", errs
    assert errs[0]["line"] == 4 and errs[0]["element"] == "nosuch_option", errs
    assert open(local).read() == LOCAL_RULES and mgr.requests == []
    st, doc = put_rules(api, "local_rules.xml", "<group name=\"x,\"><rule id=\"1\"", overwrite="true")
    assert st == 400 and doc["errors"][0]["file"] == "etc/rules/local_rules.xml", doc
    # A rule that breaks another file's reference (if_sid of a rule that no longer exists is
    # only a warning in Wazuh), and a good change: written, reloaded, audited.
    st, doc = put_rules(api, "local_rules.xml", new, overwrite="true")
    assert st == 200, doc
    assert open(local).read() == new and mgr.requests == [{"op": "reload"}]
    assert "replaced etc/rules/local_rules.xml" in open(audit).read()
    assert "user=admin" in open(audit).read()
    # A new file needs no overwrite; it is listed at once.
    extra = "<group name=\"extra,\"><rule id=\"100050\" level=\"3\"><match>zzz</match>" \
            "<description>extra</description></rule></group>\n"
    st, doc = put_rules(api, "extra_rules.xml", extra)
    assert st == 200, doc
    assert 100050 in [i["id"] for i in items(api, "/rules")[0]]
    # The manager refuses: the old file is back, the manager's errors are returned.
    mgr.replies["reload"] = {"error": 1, "message": "rule 100001: bad",
                             "errors": [{"file": "etc/rules/local_rules.xml", "line": 2,
                                         "element": "rule", "message": "bad"}]}
    st, doc = put_rules(api, "local_rules.xml", LOCAL_RULES, overwrite="true")
    assert st == 400 and "refused" in doc["detail"] and doc["errors"][0]["line"] == 2, doc
    assert open(local).read() == new
    # A refused new file is removed again.
    st, doc = put_rules(api, "more_rules.xml", extra.replace("100050", "100051"))
    assert st == 400
    assert not os.path.exists(os.path.join(api.root, "etc/rules/more_rules.xml"))
    # No manager: 503, the file unchanged.
    mgr.stop()
    st, doc = put_rules(api, "local_rules.xml", LOCAL_RULES, overwrite="true")
    assert st == 503 and "not running" in doc["detail"], doc
    assert open(local).read() == new
    # Decoders go the same way, into etc/decoders only.
    m2 = FakeManager(api.root)
    m2.replies["reload"] = {"error": 0, "message": "reloaded"}
    try:
        dec = "<decoder name=\"myapp\"><prematch>^myapp: </prematch></decoder>\n"
        st, doc = api.json("PUT", "/decoders/files/local_decoder.xml?overwrite=true",
                           token=api.token, body=dec.encode())
        assert st == 200, doc
        assert open(os.path.join(api.root, "etc/decoders/local_decoder.xml")).read() == dec
        st, doc = api.json("PUT", "/decoders/files/0310-ssh_decoders.xml?overwrite=true",
                           token=api.token, body=dec.encode())
        assert st == 400 and "own files" in doc["detail"], doc
    finally:
        m2.stop()


def test_logtest_sessions(api):
    body = {"event": SSH_FAIL, "log_format": "syslog", "location": "/var/log/auth.log"}
    st, doc = api.json("PUT", "/logtest", token=api.token, body=json.dumps(body).encode())
    assert st == 200, doc
    d = doc["data"]
    tok = d["token"]
    assert len(tok) == 8 and d["codemsg"] == 1
    assert d["phases"]["pre_decoding"]["program_name"] == "sshd"
    assert d["phases"]["decoding"]["name"] == "sshd"
    assert d["phases"]["decoding"]["srcip"] == "10.0.0.9"
    assert d["phases"]["rule_matching"]["id"] == "100001"
    assert d["alert"] is True and d["output"]["rule"]["id"] == "100001"
    assert d["output"]["decoder"]["name"] == "sshd"
    # The same session keeps its counters across requests.
    fired = []
    for _ in range(3):
        st, doc = api.json("PUT", "/logtest", token=api.token,
                           body=json.dumps(dict(body, token=tok)).encode())
        assert st == 200 and doc["data"]["token"] == tok and doc["data"]["codemsg"] == 0
        fired.append(doc["data"]["phases"]["rule_matching"]["firedtimes"])
    assert fired == [2, 3, 4]
    # Another session starts from zero.
    st, doc = api.json("PUT", "/logtest", token=api.token, body=json.dumps(body).encode())
    assert doc["data"]["token"] != tok
    assert doc["data"]["phases"]["rule_matching"]["firedtimes"] == 1
    # An event no decoder knows.
    st, doc = api.json("PUT", "/logtest", token=api.token, body=json.dumps(
        dict(body, event="nothing to see")).encode())
    assert st == 200 and doc["data"]["phases"]["decoding"] is None
    assert doc["data"]["alert"] is False
    # Unknown token: a new session, said so.
    st, doc = api.json("PUT", "/logtest", token=api.token,
                       body=json.dumps(dict(body, token="deadbeef")).encode())
    assert st == 200 and doc["data"]["codemsg"] == 1 and doc["data"]["token"] != "deadbeef"
    assert "not a valid token" in doc["data"]["messages"][0]
    # Ending a session.
    st, doc = api.json("DELETE", f"/logtest/sessions/{tok}", token=api.token)
    assert st == 200, doc
    st, doc = api.json("DELETE", f"/logtest/sessions/{tok}", token=api.token)
    assert st == 404
    for bad in (b"", b"[]", b"{\"event\": 1, \"log_format\": \"syslog\", \"location\": \"x\"}",
                json.dumps({"event": "x"}).encode()):
        st, doc = api.json("PUT", "/logtest", token=api.token, body=bad)
        assert st == 400, (bad, doc)


AGENTS = [
    {"id": "001", "name": "web1", "ip": "10.0.0.1", "register_ip": "any", "status": "active",
     "date_add": 1700000000, "last_keepalive": 1700000100, "version": "ThreatLockDown v0.1.0",
     "os": "Linux 6.1.0 x86_64", "hostname": "web1", "events": 12},
    {"id": "002", "name": "db1", "ip": "10.0.0.2", "register_ip": "10.0.0.2",
     "status": "disconnected", "date_add": 1700000001, "last_keepalive": 1700000050,
     "version": "ThreatLockDown v0.1.0", "os": "Linux 5.10 aarch64", "hostname": "db1",
     "events": 3},
    {"id": "003", "name": "new1", "ip": "any", "register_ip": "any",
     "status": "never_connected", "date_add": 1700000002, "last_keepalive": 0, "version": "",
     "os": "", "hostname": "", "events": 0},
]


def test_agents_and_control(api, mgr):
    mgr.replies["agents"] = {"error": 0, "agents": AGENTS}
    its, total = items(api, "/agents")
    assert total == 3 and [a["id"] for a in its] == ["001", "002", "003"]
    a = its[0]
    assert a["name"] == "web1" and a["ip"] == "10.0.0.1" and a["registerIP"] == "any"
    assert a["status"] == "active" and a["dateAdd"] == "2023-11-14T22:13:20+00:00"
    assert a["lastKeepAlive"] == "2023-11-14T22:15:00+00:00"
    assert a["os"]["name"] == "Linux" and a["os"]["uname"] == "Linux 6.1.0 x86_64"
    assert a["version"] == "ThreatLockDown v0.1.0" and a["node_name"]
    assert "lastKeepAlive" not in its[2]
    assert [a["id"] for a in items(api, "/agents", status="active,disconnected")[0]] == \
        ["001", "002"]
    assert [a["id"] for a in items(api, "/agents", name="db1")[0]] == ["002"]
    assert [a["id"] for a in items(api, "/agents", ip="10.0.0.1")[0]] == ["001"]
    assert [a["id"] for a in items(api, "/agents", search="aarch64")[0]] == ["002"]
    assert [a["id"] for a in items(api, "/agents", sort="-name")[0]] == ["001", "003", "002"]
    its, _ = items(api, "/agents", select="name,os.name", limit="1")
    assert its == [{"id": "001", "name": "web1", "os": {"name": "Linux"}}]
    st, doc = get(api, "/agents/summary/status")
    assert st == 200 and doc["data"]["connection"] == {
        "active": 1, "disconnected": 1, "never_connected": 1, "pending": 0, "total": 3}
    # Removal: one known, one not.
    mgr.replies["agent_remove"] = lambda req: (
        {"error": 0, "message": f"agent {req['id']} removed"} if req["id"] == "002"
        else {"error": 2, "message": f"no agent {req['id']}"})
    st, doc = api.json("DELETE", "/agents?agents_list=002,007", token=api.token)
    assert st == 200, doc
    assert doc["data"]["affected_items"] == ["002"] and doc["data"]["total_failed_items"] == 1
    assert doc["data"]["failed_items"][0]["id"] == ["007"] and doc["error"] == 2
    assert {"op": "agent_remove", "id": "007"} in mgr.requests
    assert "removed agent 002" in open(os.path.join(api.root, "logs/api-audit.log")).read()
    st, doc = api.json("DELETE", "/agents?agents_list=002&status=all", token=api.token)
    assert st == 200 and doc["data"]["affected_items"] == ["002"], doc
    for bad in ("", "?agents_list=", "?agents_list=abc", "?agents_list=000",
                "?agents_list=1;2", "?agents_list=001&status=active"):
        st, doc = api.json("DELETE", "/agents" + bad, token=api.token)
        assert st == 400, (bad, doc)
    # Reload, accepted and refused.
    st, doc = api.json("PUT", "/manager/analysisd/reload", token=api.token)
    assert st == 200 and doc["data"]["affected_items"][0]["rules"] == 4, doc
    mgr.replies["reload"] = {"error": 2, "message": "<remote><port> cannot change without a "
                             "restart", "errors": [{"file": "etc/manager.conf", "line": 9,
                                                    "element": "port", "message": "x"}]}
    st, doc = api.json("PUT", "/manager/analysisd/reload", token=api.token)
    assert st == 400 and "<remote><port>" in doc["detail"]
    assert doc["errors"][0]["element"] == "port"
    # A manager that is not there, or that never answers, is a clear 503.
    mgr.stop()
    for method, path in (("GET", "/agents"), ("GET", "/agents/summary/status"),
                         ("DELETE", "/agents?agents_list=001"),
                         ("PUT", "/manager/analysisd/reload")):
        st, doc = api.json(method, path, token=api.token)
        assert st == 503 and "not running" in doc["detail"], (path, doc)


def test_manager_logs(api):
    st, doc = get(api, "/manager/logs")
    assert st == 404
    lines = ["2026-12-07 10:00:00 tld-manager[10] INFO: started",
             "2026-12-07 10:00:01 tld-manager[10] WARNING: agent 002 disconnected",
             "2026-12-07 10:00:02 tld-manager[10] ERROR: cannot write the store",
             "a line of something else",
             "2026-12-07 10:00:03 tld-manager[10] INFO: reloaded"]
    write(os.path.join(api.root, "logs/manager.log"), "\n".join(lines) + "\n")
    its, total = items(api, "/manager/logs")
    assert total == 4
    assert [i["description"] for i in its] == ["reloaded", "cannot write the store",
                                               "agent 002 disconnected", "started"]
    assert its[1] == {"timestamp": "2026-12-07T10:00:02", "tag": "tld-manager",
                      "level": "error", "description": "cannot write the store"}
    assert [i["level"] for i in items(api, "/manager/logs", level="warning")[0]] == ["warning"]
    assert len(items(api, "/manager/logs", search="agent")[0]) == 1
    assert len(items(api, "/manager/logs", offset="1", limit="2")[0]) == 2
    assert get(api, "/manager/logs", level="loud")[0] == 400


def test_roles(api, mgr):
    api.add_user("ana", "analyst", "correct horse battery")
    api.add_user("rob", "readonly", "correct horse battery")
    ana = api.login("ana", "correct horse battery")
    rob = api.login("rob", "correct horse battery")
    body = json.dumps({"event": SSH_FAIL, "log_format": "syslog", "location": "x"}).encode()
    assert api.json("PUT", "/logtest", token=ana, body=body)[0] == 200
    assert api.json("PUT", "/logtest", token=rob, body=body)[0] == 403
    for tok in (ana, rob):
        assert api.json("GET", "/rules", token=tok)[0] == 200
        st, _ = api.json("PUT", "/rules/files/local_rules.xml?overwrite=true", token=tok,
                         body=LOCAL_RULES.encode())
        assert st == 403
        assert api.json("DELETE", "/agents?agents_list=001", token=tok)[0] == 403
        assert api.json("PUT", "/manager/analysisd/reload", token=tok)[0] == 403
    assert mgr.requests == []
