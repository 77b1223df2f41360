"""Driving tld-api from the integration tests: the daemon on a loopback port of a manager's root
(it reads that root's manager.conf and store), and an HTTPS client that trusts the root's CA.
Every wait is bounded."""
import base64
import http.client
import json
import os
import ssl
import subprocess
import urllib.parse

import agentlib
from agentlib import wait_until
import mgrlib


def api_bin():
    return os.path.join(agentlib.build_dir(), "bin", "tld-api")


def api_block(port, extra=""):
    """The <api> block for manager.conf (Manager(extra=...))."""
    return f"<api><port>{port}</port><local_ip>127.0.0.1</local_ip>{extra}</api>"


class Api(agentlib.Daemon):
    WHAT, STOP_TIMEOUT, TAIL_LINES = "api", 30, 40

    def __init__(self, root, port, name="api"):
        self.root = root
        self.port = port
        self.dir = os.path.join(os.path.dirname(root), name)
        os.makedirs(self.dir, exist_ok=True)
        self.logfile = os.path.join(self.dir, "api.log")
        self.stderr = os.path.join(self.dir, "stderr.log")
        self.stdout = os.path.join(self.dir, "stdout.log")
        self.proc = None

    def cli(self, *args, input=None):
        return subprocess.run([api_bin(), "-r", self.root, *args], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    def start(self):
        err, out = open(self.stderr, "ab"), open(self.stdout, "ab")
        self.proc = subprocess.Popen([api_bin(), "-r", self.root, "-l", self.logfile],
                                     stdout=out, stderr=err)
        err.close()
        out.close()

        def ready():
            assert self.proc.poll() is None, f"tld-api exited:\n{self.log_tail()}"
            try:
                return self.request("GET", "/")[0] == 401
            except OSError:
                return False
        wait_until(ready, 60, interval=0.2, what="tld-api listening")
        return self

    @property
    def admin_password(self):
        with open(os.path.join(self.root, "etc/api/admin.password")) as f:
            return f.read().strip()

    def context(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.root, "var/ca/ca.crt"))
        return ctx

    def connect(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(),
                                           timeout=timeout)

    def request(self, method, path, token=None, basic=None, params=None, body=None,
                headers=None):
        """(status, headers dict, body bytes) of one request on a fresh connection."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if basic:
            h["Authorization"] = "Basic " + base64.b64encode(
                f"{basic[0]}:{basic[1]}".encode()).decode()
        if params:
            path += "?" + urllib.parse.urlencode(params)
        c = self.connect()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def json(self, method, path, **kw):
        st, _, body = self.request(method, path, **kw)
        return st, json.loads(body) if body else None

    def login(self, user="admin", password=None):
        st, doc = self.json("POST", "/security/user/authenticate",
                            basic=(user, password or self.admin_password))
        assert st == 200, doc
        return doc["data"]["token"]

    def add_user(self, name, role, password):
        r = self.cli("user", "add", name, role, input=(password + "\n").encode())
        assert r.returncode == 0, r.stderr.decode(errors="replace")


def make_manager_and_api(manager_factory, extra="", api_extra="", **kw):
    """A manager with an <api> block on a free port, and its Api (not started)."""
    port = mgrlib.free_ports(1)[0]
    m = manager_factory(extra=api_block(port, api_extra) + extra, **kw)
    return m, Api(m.root, port)
