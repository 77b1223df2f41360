"""Enrollment as an attacker would use it, against a real tld-manager on loopback (no dockerd):
the default requires a password (generated at first start and shown once); a flood of wrong
passwords from rotating source addresses (127.0.0.0/8 is all loopback) is held to the global
rate and ends in one lockout alert; agents that enrolled and never connected are bounded and
expire; many agents are removed in one command; `agents list` shows a connected agent as
active; and with umask 000 nothing the manager writes is world-writable."""
import concurrent.futures
import json
import os
import socket
import ssl
import stat
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import wire
from agentlib import wait_until
from mgrlib import GENERATED, manager_factory, minimal_ruleset  # noqa: F401

ENROLL_REQ, ENROLL_OK, ERROR = 0x10, 0x11, 0x07
PCODE_BAD_PASSWORD, PCODE_BAD_NAME, PCODE_RATE_LIMITED, PCODE_FULL = 5, 7, 9, 10

LOCKOUT_RULE = """<group name="ossec,">
  <rule id="540" level="0">
    <decoded_as>json</decoded_as>
    <field name="integration">^threatlockdown$</field>
    <description>own event</description>
  </rule>
  <rule id="513" level="10">
    <if_sid>540</if_sid>
    <field name="threatlockdown.event">^enrollment_lockout$</field>
    <description>Enrollment locked</description>
  </rule>
</group>
"""


def _csr_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


CSR = _csr_pem()


def enroll_raw(port, name, password, source="127.0.0.1", timeout=20):
    """One enrollment request from `source`: ("ok", agent_id) or ("error", code, reason)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                   source_address=(source, 0))
    with ctx.wrap_socket(raw) as s:
        payload = (wire.s(name) + wire.s(password or "") + wire.s(CSR) + wire.s("test")
                   + wire.s("Linux") + wire.s("flood"))
        s.sendall(wire.frame(ENROLL_REQ, payload))
        msg_type, body = wire.recv_frame(s)
    if msg_type == ENROLL_OK:
        return ("ok", wire.read_s(body, 0)[0].decode())
    code, off = wire.read_v(body, 0)
    return ("error", code, wire.read_s(body, off)[0].decode(errors="replace"))


def test_default_requires_generated_password(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password=GENERATED)
    m.start()
    out = open(m.stdout).read()
    line = [ln for ln in out.splitlines() if "enrollment password generated:" in ln]
    assert len(line) == 1, out
    password = line[0].split(":")[-1].strip()
    assert len(password) == 32
    path = os.path.join(m.root, "etc/authd.pass")
    assert open(path).read().strip() == password
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert password not in m.log_text()  # shown on stdout only, not kept in the log

    r = enroll_raw(m.auth_port, "nopass", None)
    assert r[:2] == ("error", PCODE_BAD_PASSWORD), r
    pw = tmp_path / "pw"
    pw.write_text(password + "\n")
    p = m.enroll(str(tmp_path / "a1"), "with-pass", str(pw))
    assert p.returncode == 0, p.stderr.decode()

    # Shown once: a restart keeps the password and prints nothing new.
    m.stop()
    m.start()
    assert open(m.stdout).read().count("enrollment password generated:") == 1
    assert open(path).read().strip() == password


def _flood(port, n, threads, first_octet):
    """n wrong-password requests, each from its own source address 127.<first>.x.y."""
    def one(i):
        src = f"127.{first_octet}.{i // 250}.{i % 250 + 1}"
        try:
            return enroll_raw(port, f"f{i}", "wrong-guess", source=src)
        except (OSError, ssl.SSLError) as e:
            return ("exc", str(e))
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(one, range(n)))


def test_rotating_sources_bounded_by_global_rate(manager_factory, tmp_path):
    # Lockouts off: only the global rate holds the guesses back.
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password="right-one",
                        global_rate=2,
                        auth_extra="<lockout_failures>0</lockout_failures>"
                                   "<lockout_global_failures>0</lockout_global_failures>")
    m.start()
    t0 = time.monotonic()
    res = _flood(m.auth_port, 150, 8, 11)
    elapsed = time.monotonic() - t0
    assert all(r[0] == "error" for r in res), [r for r in res if r[0] != "error"][:3]
    guesses = sum(1 for r in res if r[1] == PCODE_BAD_PASSWORD)
    limited = sum(1 for r in res if r[1] == PCODE_RATE_LIMITED)
    print(f"rotating sources: {guesses} password checks in {elapsed:.1f} s = "
          f"{guesses / elapsed:.1f}/s; {limited} refused by the global rate")
    # The bucket holds one second (2) and regains 2 per second.
    assert guesses + limited == 150
    assert 2 <= guesses <= 2 + 2 * elapsed + 1, (guesses, elapsed)
    assert limited > 0
    wait_until(lambda: m.stats()["enrollment"]["requests"] >= 150, 10, what="stats")
    assert m.stats()["enrollment"]["bad_password"] == guesses


def test_rotating_sources_lock_out_with_one_alert(manager_factory, tmp_path):
    rs = minimal_ruleset(str(tmp_path / "rs"), LOCKOUT_RULE)
    m = manager_factory(ruleset_src=rs, password="right-one", global_rate=50,
                        auth_extra="<lockout_failures>3</lockout_failures>"
                                   "<lockout_global_failures>20</lockout_global_failures>"
                                   "<lockout_time>60s</lockout_time>")
    m.start()
    res = _flood(m.auth_port, 120, 8, 12)
    assert all(r[0] == "error" for r in res), [r for r in res if r[0] != "error"][:3]
    wait_until(lambda: m.stats()["enrollment"]["requests"] >= 120, 10, what="stats")
    st = m.stats()["enrollment"]
    # Checks already under way when the 20th failure locked (8 clients at once) still finish;
    # nothing starts after it.
    guesses = sum(1 for r in res if r[1] == PCODE_BAD_PASSWORD)
    assert 20 <= guesses <= 20 + 8 and st["bad_password"] == guesses, st
    assert st["lockouts"] == 1, st
    locked = [r for r in res if r[1] == PCODE_RATE_LIMITED and "locked" in r[2]]
    assert len(locked) == st["locked_out"] and len(locked) >= 120 - 28 - st["rate_limited"]
    # Even the right password waits for the end of the lockout.
    r = enroll_raw(m.auth_port, "legit", "right-one", source="127.13.0.1")
    assert r[1] == PCODE_RATE_LIMITED and "locked" in r[2], r
    ev = m.wait_own("enrollment_lockout")
    assert len(ev) == 1 and ev[0]["scope"] == "global", ev
    m.wait_alerts(lambda a: any(x["rule"]["id"] == "513" for x in a), what="lockout alert")
    time.sleep(2)
    assert len(m.own_events("enrollment_lockout")) == 1
    assert sum(1 for a in m.alerts() if a["rule"]["id"] == "513") == 1
    # The refusals under the lockout produced no own event each.
    assert len(m.own_events("enrollment_refused")) == guesses + st["rate_limited"]


def test_pending_cap_expiry_and_unsafe_names(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password=None,
                        auth_extra="<max_pending_agents>3</max_pending_agents>"
                                   "<pending_agent_expiry>4s</pending_agent_expiry>"
                                   "<rate_limit_requests>1000</rate_limit_requests>")
    m.start()
    for i in range(3):
        assert enroll_raw(m.auth_port, f"p{i}", None)[0] == "ok"
    r = enroll_raw(m.auth_port, "p3", None)
    assert r[:2] == ("error", PCODE_FULL) and "never connected" in r[2], r
    for bad in ("-rf", ".hidden"):
        r = enroll_raw(m.auth_port, bad, None)
        assert r[:2] == ("error", PCODE_BAD_NAME) and "start with a letter or a digit" in r[2], r
    # Expiry: the three are removed (own events with the reason), and enrollment works again.
    ev = m.wait_own("agent_removed", 3, timeout=20)
    assert all(e.get("reason") == "never_connected" for e in ev), ev
    assert enroll_raw(m.auth_port, "p3", None)[0] == "ok"
    listing = m.cli("agents", "list").stdout.decode()
    assert "p3" in listing and "p0" not in listing, listing


def test_bulk_removal(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password=None,
                        auth_extra="<rate_limit_requests>1000</rate_limit_requests>")
    m.start()
    for name in ("web-1", "web-2", "web-3", "db-1", "db-2"):
        assert enroll_raw(m.auth_port, name, None)[0] == "ok"
    p = m.cli("agents", "remove", "--dry-run", "--name", "web-*")
    out = p.stdout.decode()
    assert p.returncode == 0 and out.count("would remove") == 3, out
    assert "3 agents match; nothing removed" in out
    assert m.cli("agents", "list").stdout.decode().count("web-") == 3
    p = m.cli("agents", "remove", "--name", "web-*")
    assert p.returncode == 0 and "3 agents removed" in p.stdout.decode(), p.stdout
    m.wait_own("agent_removed", 3)
    # By status and age: the db agents never connected and are older than 1 s.
    assert m.cli("agents", "remove", "--status", "disconnected").stdout.decode().count(
        "removing") == 0
    time.sleep(2.1)
    p = m.cli("agents", "remove", "--status", "never_connected", "--older-than", "1s")
    assert "2 agents removed" in p.stdout.decode(), p.stdout
    listing = m.cli("agents", "list").stdout.decode()
    assert "db-1" not in listing and "web-1" not in listing, listing
    # Refusals: no selection, a bad duration, a bad status.
    assert m.cli("agents", "remove").returncode == 2
    assert m.cli("agents", "remove", "--older-than", "7x").returncode == 2
    assert m.cli("agents", "remove", "--status", "gone").returncode == 2
    assert m.cli("agents", "remove", "--older-than", "7d").returncode == 0


def test_connected_agent_listed_active_and_umask(manager_factory, agent_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password=None,
                        umask=0)
    m.start()
    log = tmp_path / "app.log"
    log.write_text("")
    conf = m.agent_config(localfiles=[("syslog", str(log))], name="live-1")
    ag = agent_factory(conf, name="agent", output=None)
    old = os.umask(0)
    try:
        ag.start()
    finally:
        os.umask(old)
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected"), 60,
               what="agent connected")
    # agents-status.json is written every 5 s by the manager.
    def listed_active():
        out = m.cli("agents", "list").stdout.decode()
        return any("live-1" in ln and " active " in ln for ln in out.splitlines())
    wait_until(listed_active, 20, what="live-1 listed as active")
    # Nothing either daemon wrote is writable by others, with umask 000 at their start.
    bad = []
    for root in (m.root, ag.root):
        for d, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(d, n)
                if os.path.islink(p):
                    continue
                if os.stat(p).st_mode & 0o002:
                    bad.append(p)
    assert not bad, bad
    status = json.load(open(os.path.join(m.root, "var/agents-status.json")))
    assert any(a["name"] == "live-1" and a["status"] == "active" for a in status["agents"])
