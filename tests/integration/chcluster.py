"""A ClickHouse cluster for the integration tests, from Debian's packages, on loopback ports in a
temporary folder: one ZooKeeper (the zookeeper package's jar run by java with a generated
zoo.cfg, no service manager) and SHARDS x REPLICAS clickhouse-server processes, each with its
own config (ports, paths, macros {shard}/{replica}, remote_servers, zookeeper). Nodes can be
killed and started again one by one for fault tests. Only the processes started here are ever
signalled, by pid. Every wait is bounded; the whole start takes a few seconds.

Use the `ch_cluster` fixture (import it into the test module) or ChCluster directly."""
import glob
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from agentlib import wait_until
from mgrlib import free_ports

CLUSTER = "tld_cluster"
ZK_JAR = "/usr/share/java/zookeeper.jar"
ZK_CONF = "/etc/zookeeper/conf_example"  # the package's log4j.properties for the classpath


def clickhouse_bin():
    for p in ("/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse"):
        if os.access(p, os.X_OK):
            return p
    pytest.fail("clickhouse-server is not installed (mk/deps.sh installs it)")


def wait_for(pred, timeout, what):
    return wait_until(pred, timeout, interval=0.1, what=what)


def _stop_pid(proc, timeout=20):
    """SIGTERM, then SIGKILL after `timeout`; reaps the child."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class ZooKeeper:
    def __init__(self, folder):
        self.dir = folder
        self.port = free_ports(1)[0]
        self.proc = None

    def start(self):
        if not os.path.exists(ZK_JAR):
            pytest.fail(f"{ZK_JAR} is missing: install zookeeper (mk/deps.sh)")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        cfg = os.path.join(self.dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(f"tickTime=500\ninitLimit=10\nsyncLimit=5\n"
                    f"dataDir={self.dir}/data\nclientPort={self.port}\n"
                    "clientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n"
                    "4lw.commands.whitelist=srvr\n")
        log = open(os.path.join(self.dir, "zookeeper.log"), "ab")
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", "-XX:+UseSerialGC", "-cp", f"{ZK_JAR}:{ZK_CONF}",
             f"-Dzookeeper.log.dir={self.dir}",
             "org.apache.zookeeper.server.ZooKeeperServerMain", cfg],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"zookeeper exited; see {self.dir}/zookeeper.log")
        # `ruok` says imok before the server serves; `srvr` names its mode only once it does.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                s.settimeout(1)
                out = b""
                while chunk := s.recv(4096):
                    out += chunk
                return b"Mode: standalone" in out
        except OSError:
            return False

    def stop(self):
        _stop_pid(self.proc)


class Node:
    """One clickhouse-server: shard and replica numbers from 1, its ports and its folder."""

    def __init__(self, folder, shard, replica):
        self.dir, self.shard, self.replica = folder, shard, replica
        self.http, self.tcp, self.interserver = free_ports(3)
        self.proc = None

    @property
    def name(self):
        return f"s{self.shard}r{self.replica}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http}/"

    def write_config(self, nodes, zk_port):
        d = self.dir
        for sub in ("data", "tmp", "user_files", "format_schemas"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shards = ""
        for s in sorted({n.shard for n in nodes}):
            reps = "".join(f"<replica><host>127.0.0.1</host><port>{n.tcp}</port></replica>"
                           for n in nodes if n.shard == s)
            shards += f"<shard><internal_replication>true</internal_replication>{reps}</shard>"
        with open(os.path.join(d, "config.xml"), "w") as f:
            f.write(f"""<?xml version="1.0"?>
<yandex>
<logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog>
<size>20M</size><count>1</count></logger>
<http_port>{self.http}</http_port><tcp_port>{self.tcp}</tcp_port>
<interserver_http_port>{self.interserver}</interserver_http_port>
<interserver_http_host>127.0.0.1</interserver_http_host>
<listen_host>127.0.0.1</listen_host>
<path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>
<user_files_path>{d}/user_files/</user_files_path>
<format_schema_path>{d}/format_schemas/</format_schema_path>
<users_config>{d}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>67108864</mark_cache_size>
<uncompressed_cache_size>0</uncompressed_cache_size>
<max_concurrent_queries>50</max_concurrent_queries>
<remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>
<zookeeper><node><host>127.0.0.1</host><port>{zk_port}</port></node>
<session_timeout_ms>10000</session_timeout_ms></zookeeper>
<macros><shard>{self.shard:02d}</shard><replica>r{self.replica}</replica></macros>
<distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
""")
        with open(os.path.join(d, "users.xml"), "w") as f:
            f.write('<?xml version="1.0"?>\n<yandex><profiles><default></default></profiles>'
                    "<users><default><password></password><networks><ip>127.0.0.1</ip>"
                    "</networks><profile>default</profile><quota>default</quota></default>"
                    "</users><quotas><default></default></quotas></yandex>\n")

    def start(self):
        log = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(
            [clickhouse_bin(), f"--config-file={self.dir}/config.xml"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ready(self):
        if not self.alive():
            raise AssertionError(f"clickhouse-server {self.name} exited; see {self.dir}")
        # Up, and its ZooKeeper session works (replicated tables and ON CLUSTER need it).
        try:
            self.query("SELECT count() FROM system.zookeeper WHERE path = '/'", timeout=2)
            return True
        except (OSError, urllib.error.URLError, AssertionError):
            return False

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self):
        # Its data is thrown away: no need to wait long for a clean shutdown.
        _stop_pid(self.proc, timeout=3)

    def query(self, sql, timeout=60):
        """The response body of `sql` (text); raises on an error status."""
        req = urllib.request.Request(self.url, data=sql.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{self.name}: {e.read().decode(errors='replace')[:500]}")


class ChCluster:
    def __init__(self, workdir, shards=2, replicas=2):
        self.dir = os.path.join(str(workdir), "chcluster")
        self.zk = ZooKeeper(os.path.join(self.dir, "zk"))
        self.nodes = [Node(os.path.join(self.dir, f"s{s}r{r}"), s, r)
                      for s in range(1, shards + 1) for r in range(1, replicas + 1)]
        self.name = CLUSTER

    def start(self, timeout=60):
        t0 = time.monotonic()
        self.zk.start()
        # ZooKeeper first: a server that finds none at its start keeps no session for its
        # distributed DDL worker (18.16 then crashes on the first ON CLUSTER query).
        wait_for(self.zk.ready, timeout, "zookeeper to answer")
        for n in self.nodes:
            n.write_config(self.nodes, self.zk.port)
            n.start()
        for n in self.nodes:
            wait_for(n.ready, max(1, timeout - (time.monotonic() - t0)),
                     f"clickhouse-server {n.name} to answer")
        self.started_in = time.monotonic() - t0
        return self

    def node(self, shard, replica):
        return next(n for n in self.nodes if n.shard == shard and n.replica == replica)

    def shard(self, shard):
        return [n for n in self.nodes if n.shard == shard]

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    def restart(self, node, timeout=60):
        node.start()
        wait_for(node.ready, timeout, f"clickhouse-server {node.name} to answer again")

    def stop(self):
        for n in self.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGTERM)  # all at once, then wait for each
        for n in self.nodes:
            n.stop()
        self.zk.stop()

    def logs_tail(self, n=20):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*", "error.log"))):
            with open(path, errors="replace") as f:
                out.append(f"== {path}\n" + "".join(f.readlines()[-n:]))
        return "\n".join(out)


class LossyProxy(threading.Thread):
    """An HTTP proxy on a loopback port in front of one node that, for the first `drops`
    INSERT requests, lets the node run the insert and then closes the client's connection
    instead of passing on the answer: the client cannot tell whether its insert was stored.
    Every other request is passed through (one request per upstream connection). `on_drop`,
    if given, is called after each lost answer (in the proxy's thread), before the client
    sees its connection closed."""

    def __init__(self, node, drops, on_drop=None):
        super().__init__(daemon=True)
        self.node, self.drops, self.dropped, self.inserts = node, drops, 0, 0
        self.on_drop = on_drop
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def close(self):
        self.sock.close()

    @staticmethod
    def _request(conn, buf):
        """One request (head and Content-Length body) from conn; (request, rest) or None."""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            if name.strip().lower() == b"expect":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        lines = [l for l in head.split(b"\r\n")
                 if not l.lower().startswith((b"connection:", b"expect:"))]
        req = b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + rest[:length]
        return req, rest[length:], lines[0]

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                got = self._request(conn, buf)
                if not got:
                    return
                req, buf, line = got
                with socket.create_connection(("127.0.0.1", self.node.http), timeout=120) as up:
                    up.sendall(req)
                    resp = b""
                    while chunk := up.recv(65536):
                        resp += chunk
                drop = False
                if b"query=INSERT" in line:
                    with self.lock:
                        self.inserts += 1
                        if resp.startswith(b"HTTP/1.1 200") and self.dropped < self.drops:
                            self.dropped += 1
                            drop = True
                if drop:
                    if self.on_drop:
                        self.on_drop()
                    return  # the insert ran; its answer is lost
                conn.sendall(resp)
                return  # the answer says Connection: close
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture
def ch_cluster(tmp_path):
    c = ChCluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        c.stop()
