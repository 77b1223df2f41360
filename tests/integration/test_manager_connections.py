"""Connection slots as an attacker would take them, against a real tld-manager on loopback (no
dockerd): idle TCP connections by the thousand on the agents' port and by the hundred on the
enrollment port, from many source addresses (127.0.0.0/8 is all loopback), while a legitimate
agent enrolls and sends events; one address holding many; peers that never finish a handshake;
and authenticated sessions that each start an 8 MiB frame and stall. Legitimate agents are
served throughout, every event is alerted once, and the manager's threads and memory stay
bounded."""
import os
import re
import resource
import socket
import ssl
import struct
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import wire
from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from writers import EventWriter

RULES = """<group name="conn,">
  <rule id="100800" level="3">
    <match>cn-event</match>
    <description>connection test event</description>
  </rule>
</group>
"""
NUM = re.compile(rb'"full_log":"cn-event (\d{7})')
HELLO, WELCOME, BATCH, ENROLL_REQ, ENROLL_OK = 0x01, 0x02, 0x03, 0x10, 0x11


def setup_module():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_status(m, key):
    with open(f"/proc/{m.proc.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def open_idle(port, per_source, sources):
    """Idle TCP connections (not a byte sent) from each source address."""
    socks = []
    for src in sources:
        for _ in range(per_source):
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
    return socks


def closed_by_peer(s, wait=0.2):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


class Churn(threading.Thread):
    """Keeps opening idle connections (and dropping its oldest) from a rotating set of
    addresses, so the pending pool is under pressure while a legitimate peer connects."""

    def __init__(self, port, prefix, rate=100):
        super().__init__(daemon=True)
        self.port, self.prefix, self.rate = port, prefix, rate
        self.stop = threading.Event()
        self.opened = 0

    def run(self):
        held = []
        i = 0
        while not self.stop.is_set():
            s = socket.socket()
            s.bind((f"{self.prefix}.{1 + i % 200}", 0))
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", self.port))
                held.append(s)
                self.opened += 1
            except OSError:
                s.close()
            i += 1
            if len(held) > 400:
                held.pop(0).close()
            time.sleep(1 / self.rate)
        for s in held:
            s.close()


def counts(m):
    with open(m.alerts_path, "rb") as f:
        data = f.read()
    seen = {}
    for mt in NUM.finditer(data[:data.rfind(b"\n") + 1]):
        seen[int(mt.group(1))] = seen.get(int(mt.group(1)), 0) + 1
    return seen


def assert_once(m, total, timeout=90):
    wait_until(lambda: len(counts(m)) >= total, timeout, interval=0.5,
               what=f"{total} distinct alerts")
    seen = counts(m)
    assert sorted(seen) == list(range(1, total + 1))
    assert all(c == 1 for c in seen.values()), "an event was alerted twice"


def manager_with_rules(manager_factory, tmp_path, **kw):
    return manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs"), RULES), **kw)


def test_idle_flood_on_the_agents_port(manager_factory, agent_factory, tmp_path):
    m = manager_with_rules(manager_factory, tmp_path).start()
    threads_before = proc_status(m, "Threads")
    # 1,200 idle connections from 100 addresses: more than the pending pool (1,024) holds.
    socks = open_idle(m.remote_port, 12, [f"127.0.3.{i}" for i in range(1, 101)])
    churn = Churn(m.remote_port, "127.0.4")
    churn.start()
    try:
        src = str(tmp_path / "events.log")
        open(src, "w").close()
        a = agent_factory(m.agent_config(localfiles=[("syslog", src)], name="legit"), output=None)
        t0 = time.monotonic()
        a.start()
        wait_until(lambda: m.stats()["remote"]["active"] == 1, 30, what="the agent's session")
        connect_s = time.monotonic() - t0
        w = EventWriter(src, b"cn-event", 2000, 2000)
        w.start()
        w.join(60)
        assert_once(m, 2000)
        threads = proc_status(m, "Threads")
        st = m.stats()["remote"]
    finally:
        churn.stop.set()
        churn.join(10)
    print(f"{len(socks)} idle + {churn.opened} churned connections; agent session in "
          f"{connect_s:.2f} s; manager threads {threads_before} -> {threads}; remote {st}")
    assert len(socks) >= 1100, "the attack did not take place"
    assert st["evicted"] > 0, "the pending pool never filled: the test proves nothing"
    assert threads <= threads_before + 2, "connections cost threads"
    for s in socks:
        s.close()
    a.stop()
    m.stop()


def test_one_address_and_silent_handshakes(manager_factory, tmp_path):
    m = manager_with_rules(manager_factory, tmp_path,
                           extra="").start()
    # A second manager configuration is not needed: the defaults are 16 pending connections
    # per address on 1514 and 8 connections per address on 1515.
    many = open_idle(m.remote_port, 40, ["127.0.5.1"])
    enroll_many = open_idle(m.auth_port, 20, ["127.0.5.2"])
    wait_until(lambda: m.stats()["enrollment"]["address_limited"] >= 12, 10,
               what="the refusals counted")
    alive = [s for s in many if not closed_by_peer(s)]
    alive_enroll = [s for s in enroll_many if not closed_by_peer(s)]
    st = m.stats()
    print(f"1514: {len(alive)} of {len(many)} held; 1515: {len(alive_enroll)} of "
          f"{len(enroll_many)} held; {st['remote']}, {st['enrollment']}")
    assert len(alive) == 16 and st["remote"]["address_limited"] >= 24
    assert len(alive_enroll) == 8 and st["enrollment"]["address_limited"] >= 12
    # Nothing said within the handshake time (10 s): closed, and counted.
    wait_until(lambda: all(closed_by_peer(s, 0.05) for s in alive + alive_enroll), 15,
               what="silent connections closed at the handshake deadline")
    st = wait_until(lambda: (st := m.stats()) and st["remote"]["timeouts"] >= 16
                    and st["enrollment"]["timeouts"] >= 8 and st["remote"]["open"] == 0 and st, 10,
                    what="the timeouts counted")
    for s in many + enroll_many:
        s.close()
    m.stop()


def test_idle_flood_on_the_enrollment_port(manager_factory, tmp_path):
    m = manager_with_rules(manager_factory, tmp_path).start()
    socks = open_idle(m.auth_port, 5, [f"127.0.6.{i}" for i in range(1, 61)])
    churn = Churn(m.auth_port, "127.0.7")
    churn.start()
    try:
        times = []
        for i in range(3):
            t0 = time.monotonic()
            r = m.enroll(str(tmp_path / f"agent{i}"), f"legit-{i}")
            times.append(time.monotonic() - t0)
            assert r.returncode == 0, r.stderr.decode()
        st = wait_until(lambda: (st := m.stats()["enrollment"]) and st["enrolled"] == 3 and st,
                        10, what="the enrollments counted")
    finally:
        churn.stop.set()
        churn.join(10)
    print(f"{len(socks)} idle + {churn.opened} churned connections on 1515; enrollments took "
          f"{', '.join(f'{t:.2f}' for t in times)} s; {st}")
    assert len(socks) >= 280 and st["evicted"] > 0
    assert st["enrolled"] == 3 and max(times) < 10
    for s in socks:
        s.close()
    m.stop()


# ---- authenticated sessions that pin large frames --------------------------------------------

def enroll_identity(m, name, d):
    """Enroll `name` with a fresh key: paths of its certificate and key."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .sign(key, hashes.SHA256()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", m.auth_port), timeout=10)) as s:
        req = (wire.s(name) + wire.s("") + wire.s(csr.public_bytes(serialization.Encoding.PEM))
               + wire.s("t") + wire.s("Linux") + wire.s(name))
        s.sendall(wire.frame(ENROLL_REQ, req))
        t, body = wire.recv_frame(s)
    assert t == ENROLL_OK, body
    off = 0
    fields = []
    for _ in range(3):
        field, off = wire.read_s(body, off)
        fields.append(field)
    cert, keyf = os.path.join(d, f"{name}.crt"), os.path.join(d, f"{name}.key")
    with open(cert, "wb") as f:
        f.write(fields[2])
    with open(keyf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert, keyf


def stalled_session(m, cert, key, name, stream):
    """A session that says HELLO, then sends all but the last byte of an 8 MiB batch frame."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(m.root, "var/ca/ca.crt"))
    ctx.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", m.remote_port), timeout=10,
                                   source_address=(f"127.0.8.{1 + stream % 200}", 0))
    s = ctx.wrap_socket(raw)
    s.sendall(wire.frame(HELLO, wire.s(name) + wire.s("t") + wire.s("Linux") + wire.s(name)
                         + wire.v(stream) + wire.v(1) + wire.v(1)))
    t, _ = wire.recv_frame(s)
    assert t == WELCOME
    size = 8 << 20
    s.sendall(b"TL" + bytes([1, BATCH]) + struct.pack("<I", size))
    s.settimeout(3)
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(8):
            s.sendall(chunk[:-1] if _ == 7 else chunk)
    except (socket.timeout, ssl.SSLError, OSError):
        pass  # the manager stopped reading this one: it waits for the frame budget
    return s


def test_sessions_pinning_large_frames(manager_factory, agent_factory, tmp_path):
    m = manager_with_rules(
        manager_factory, tmp_path,
        auth_extra="<rate_limit_requests>1000</rate_limit_requests>"
                   "<max_pending_agents>1000</max_pending_agents>",
        extra="<remote><frame_memory>16M</frame_memory></remote>").start()
    d = str(tmp_path / "ids")
    os.makedirs(d)
    ids = [enroll_identity(m, f"pin{i:02d}", d) for i in range(40)]
    rss_before = proc_status(m, "VmRSS")
    results = [None] * 40

    def run(i):
        results[i] = stalled_session(m, *ids[i], f"pin{i:02d}", 1000 + i)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(40)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert all(results), "a session could not be opened"
    time.sleep(2)
    rss = proc_status(m, "VmRSS")
    st = wait_until(lambda: (st := m.stats()["remote"]) and st["active"] >= 40 and st, 10,
                    what="40 sessions counted")
    # A legitimate agent meanwhile: small batches never wait for the budget.
    src = str(tmp_path / "events.log")
    open(src, "w").close()
    a = agent_factory(m.agent_config(localfiles=[("syslog", src)], name="legit"), output=None)
    a.start()
    w = EventWriter(src, b"cn-event", 1000, 1000)
    w.start()
    w.join(30)
    assert_once(m, 1000)
    grown_mb = (rss - rss_before) / 1024
    print(f"40 sessions each holding 8 MiB - 1 byte of a frame: RSS {rss_before // 1024} -> "
          f"{rss // 1024} MB (+{grown_mb:.0f} MB); frame memory in use "
          f"{st['frame_memory'] >> 20} MiB, frame waits {st['frame_waits']}")
    assert st["active"] >= 40
    assert st["frame_memory"] <= 16 << 20 and st["frame_waits"] >= 30
    assert grown_mb < 100, "memory grew with the frames the sessions hold"
    for s in results:
        s.close()
    a.stop()
    m.stop()
