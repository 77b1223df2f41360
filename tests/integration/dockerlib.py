"""Helpers shared by the Docker tests: the engine's own record of events, the Docker events in
the agent's output, fake engines on unix sockets."""
import json
import os
import socket
import threading
import time

PREFIX = '{"integration":"docker","docker":'
LOCATION = "Wazuh-Docker"


def engine_events(env, since_ns, until_ns):
    """`docker events --since --until` as raw lines (exactly what the API streams)."""
    out = env.docker("events", "--since", f"{since_ns // 10**9}.{since_ns % 10**9:09d}",
                     "--until", f"{until_ns // 10**9}.{until_ns % 10**9:09d}",
                     "--format", "{{json .}}", timeout=60)
    return [l for l in out.splitlines() if l.strip()]


def raw_of(text):
    """The Docker event inside one of the agent's records, without the `inspect` we add."""
    assert text.startswith(PREFIX) and text.endswith("}"), text[:200]
    body = text[len(PREFIX):-1]
    cut = body.rfind(',"inspect":{')
    if cut >= 0:
        body = body[:cut] + "}"
    return body


def docker_records(agent, location=LOCATION):
    """(raw event, parsed text object, record) for every Docker engine event the agent wrote."""
    out = []
    for r in agent.records():
        if r["location"] != location:
            continue
        obj = json.loads(r["text"])
        if obj["docker"].get("Type") in ("listener", "posture"):
            continue  # the listener's own events, not the engine's
        out.append((raw_of(r["text"]), obj, r))
    return out


def posture_records(agent, location=LOCATION):
    """The docker objects of the posture events the listener wrote after container creates."""
    return [o["docker"] for o in (json.loads(r["text"]) for r in agent.records()
                                  if r["location"] == location)
            if o["docker"].get("Type") == "posture"]


def listener_events(agent, location=LOCATION, action=None):
    out = []
    for r in agent.records():
        if r["location"] != location:
            continue
        d = json.loads(r["text"])["docker"]
        if d.get("Type") == "listener" and (action is None or d["Action"] == action):
            out.append(d)
    return out


def assert_same_events(got, engine, concurrent_ns=5_000_000):
    """The agent's events are the engine's, each once. The order is the engine's too, except
    that events the engine emitted concurrently (within concurrent_ns of each other) may come
    in either order: dockerd hands each subscriber its own copy from concurrent goroutines, so
    two subscribers can see such events swapped."""
    assert len(got) == len(set(got)), "an event was spooled twice"
    missing = [e for e in engine if e not in set(got)]
    extra = [e for e in got if e not in set(engine)]
    assert not missing and not extra, f"missing {missing[:3]}, unexpected {extra[:3]}"
    if got == engine:
        return
    ts = {e: json.loads(e).get("timeNano", 0) for e in engine}
    pos = {e: i for i, e in enumerate(engine)}
    for a, b in zip(got, got[1:]):
        if pos[a] > pos[b]:
            assert abs(ts[a] - ts[b]) < concurrent_ns, f"out of order: {a[:160]} before {b[:160]}"


def in_window(raw, since_ns, until_ns):
    t = json.loads(raw).get("timeNano", 0)
    return since_ns <= t <= until_ns


class FakeEngine(threading.Thread):
    """A unix-socket server that answers like (or unlike) a Docker Engine. `handler(path)`
    returns (status line, headers dict, body iterable of bytes); None closes at once."""

    def __init__(self, path, handler):
        super().__init__(daemon=True)
        self.path = path
        self.handler = handler
        self.requests = []
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            self.requests.append(path)
            resp = self.handler(path)
            if resp is None:
                return
            status, headers, body = resp
            head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            conn.sendall(head.encode() + b"Connection: close\r\n\r\n")
            for piece in body:
                if self.stopping:
                    break
                conn.sendall(piece)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.join(5)


VERSION_BODY = json.dumps({"Version": "20.10.99-fake", "ApiVersion": "1.41",
                           "MinAPIVersion": "1.12"}).encode()


def fake_event(i, t_ns):
    return json.dumps({"Type": "container", "Action": "start",
                       "Actor": {"ID": f"{i:064x}", "Attributes": {"name": f"fake{i}", "image": "x"}},
                       "scope": "local", "time": t_ns // 10**9, "timeNano": t_ns},
                      separators=(",", ":")).encode()


def wait_listener(agent, action, n=1, timeout=30):
    from agentlib import wait_until
    return wait_until(lambda: len(listener_events(agent, action=action)) >= n and
                      listener_events(agent, action=action), timeout,
                      what=f"{n} listener '{action}' event(s)")


def now_ns():
    return time.time_ns()
