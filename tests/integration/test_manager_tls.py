"""The transport's and enrollment's TLS policy against real processes on 127.0.0.1: only TLS
1.3, only client certificates of the manager's CA, never a removed agent; plaintext fails
cleanly; a connected agent's status, keepalives and own events."""
import json
import os
import socket
import ssl
import subprocess
import time

import agentlib
from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401


def tls_client(m, port, cert=None, key=None, max_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(m.root, "var/ca/ca.crt"))
    if cert:
        ctx.load_cert_chain(cert, key)
    if max_version:
        ctx.maximum_version = max_version
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(s)


def refused(m, port, **kw):
    """True when the manager ends the connection without a session (handshake error, alert on
    the first read, or EOF). An accepted agent gets nothing until it says HELLO, which the
    manager awaits for 10 s: a quiet 4 s means accepted (waiting as long as the manager would
    see it give up)."""
    try:
        c = tls_client(m, port, **kw)
    except (ssl.SSLError, ConnectionError):
        return True
    try:
        c.settimeout(4)
        data = c.recv(64)
        return data == b""
    except (ssl.SSLError, ConnectionError):
        return True
    except socket.timeout:
        return False
    finally:
        c.close()


def other_ca_cert(tmp_path, cn="001"):
    d = str(tmp_path / "other")
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, cwd=d, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=Other CA", "-days", "30",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
        "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "c.key", "-out", "c.csr", "-subj",
        f"/O=ThreatLockDown/OU=agent/CN={cn}")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    run("openssl", "x509", "-req", "-in", "c.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "c.crt", "-days", "30", "-extfile", "ext")
    return os.path.join(d, "c.crt"), os.path.join(d, "c.key")


def test_refusals_and_plaintext(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")))
    m.start()
    a = str(tmp_path / "a")
    assert m.enroll(a, "real").returncode == 0
    own_crt, own_key = os.path.join(a, "var/tls/agent.crt"), os.path.join(a, "var/tls/agent.key")

    # No client certificate.
    assert refused(m, m.remote_port)
    # A certificate for id 001 from another CA.
    crt, key = other_ca_cert(tmp_path)
    assert refused(m, m.remote_port, cert=crt, key=key)
    # TLS 1.2 on either port.
    assert refused(m, m.remote_port, cert=own_crt, key=own_key,
                   max_version=ssl.TLSVersion.TLSv1_2)
    assert refused(m, m.auth_port, max_version=ssl.TLSVersion.TLSv1_2)
    # The real certificate is accepted (the manager then waits for HELLO).
    assert not refused(m, m.remote_port, cert=own_crt, key=own_key)

    # Plaintext on both ports: an alert or EOF, never a hang, and the manager keeps running.
    for port in (m.remote_port, m.auth_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
            assert data == b"" or data[:1] == b"\x15"  # TLS alert record
        except ConnectionResetError:
            pass
        s.close()
    st = wait_until(lambda: (s := m.stats()) and s["remote"]["tls_failures"] >= 4 and s, 10,
                    what="tls failure counters")
    assert st["remote"]["sessions"] == 0
    assert st["enrollment"]["tls_failures"] >= 2
    assert m.alive()
    log = m.log_text()
    assert "peer did not return a certificate" in log or "certificate required" in log
    assert "unknown ca" in log or "certificate verify failed" in log
    m.stop()


def test_connected_agent_status_and_removal(manager_factory, agent_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), keepalive=1)
    m.start()
    logf = str(tmp_path / "app.log")
    open(logf, "w").close()
    ag = agent_factory(m.agent_config(localfiles=[("syslog", logf)], name="edge-1"),
                       name="agent", output=None)
    ag.start()
    st = wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected") and s,
                    60, what="agent connected")
    assert st["forwarder"]["agent_id"] == "001"
    ev = m.wait_own("agent_connected")[0]
    assert ev["agent"] == {"id": "001", "name": "edge-1", "ip": "127.0.0.1"}

    def status():
        try:
            return json.load(open(os.path.join(m.root, "var/agents-status.json")))["agents"]
        except (OSError, ValueError):
            return None
    s = wait_until(lambda: (v := status()) and v[0]["status"] == "active" and v[0]["os"] and v,
                   20, what="status file with the agent active")
    assert s[0]["hostname"] and s[0]["version"] and s[0]["ip"] == "127.0.0.1"

    # The agent stops: disconnected, with the reason; it comes back: connected again.
    ag.stop()
    gone = m.wait_own("agent_disconnected")[0]
    assert gone["agent"]["id"] == "001" and gone["reason"] == "closed by the agent"
    wait_until(lambda: (v := status()) and v[0]["status"] == "disconnected", 20,
               what="status disconnected")
    ag.start()
    m.wait_own("agent_connected", 2)

    # Removed while connected: the session ends and every reconnection is refused.
    p = m.cli("agents", "remove", "001")
    assert p.returncode == 0, p.stderr.decode()
    m.wait_own("agent_removed")
    wait_until(lambda: (s := ag.stats()) and s["forwarder"]["refusals"] >= 1, 30,
               what="the agent being refused")
    assert "agent removed" in ag.log_tail(200)
    assert m.stats()["remote"]["refused"] >= 1
    # Its events are no longer accepted.
    with open(logf, "a") as f:
        f.write("after removal\n")
    time.sleep(2)
    assert not any("after removal" in a.get("full_log", "") for a in m.archives())
    ag.stop()
    m.stop()
