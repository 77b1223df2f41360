"""Driving tld-manager from the integration tests: a private root with its own ports on
127.0.0.1, the process, its stats file, its alerts and archives. Every wait is bounded.

Agents are driven with agentlib.Agent (no --output: the forwarder ships to the manager)."""
import json
import os
import signal
import socket
import subprocess
import time

import agentlib
from agentlib import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def manager_bin():
    return os.path.join(agentlib.build_dir(), "bin", "tld-manager")


def shared_dir():
    return os.environ.get("TLD_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound and released; tests run one at a time)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


TEMPLATE_RULES = """<group name="syslog,">
  <rule id="1" level="0" noalert="1">
    <category>syslog</category>
    <description>Generic template for all syslog rules.</description>
  </rule>
</group>
"""

JSON_DECODER = """<decoder name="json">
  <prematch>^{\\s*"</prematch>
  <plugin_decoder>JSON_Decoder</plugin_decoder>
</decoder>
"""


def minimal_ruleset(dirpath, rules_xml=""):
    """A ruleset folder (decoders/, rules/) with a syslog template rule, the JSON decoder and
    the given rules; returns its path (for TLD_RULESET_SRC)."""
    write(os.path.join(dirpath, "decoders", "0006-json_decoders.xml"), JSON_DECODER)
    write(os.path.join(dirpath, "rules", "0010-rules_config.xml"), TEMPLATE_RULES)
    write(os.path.join(dirpath, "rules", "0500-test_rules.xml"), rules_xml or "<!-- none -->\n")
    return dirpath


GENERATED = object()  # Manager(password=GENERATED): the default, a generated password


class Manager(agentlib.Daemon):
    WHAT, STATS, STOP_TIMEOUT, TAIL_LINES = "manager", "tld-manager.stats.json", 120, 60

    def __init__(self, workdir, name="manager", ruleset_src=None, password=None,
                 logall_json=True, local=False, extra="", auth_extra="", manager_extra="",
                 keepalive=None, global_rate=1000, umask=None):
        """password: None opts out explicitly (<use_password>no), GENERATED keeps the default
        (a password is required and generated at first start), anything else is written to
        etc/authd.pass. global_rate: enrollment requests per second in all (tests enroll many
        agents quickly; the product's default is 5)."""
        self.dir = os.path.join(str(workdir), name)
        self.root = os.path.join(self.dir, "root")
        self.logfile = os.path.join(self.dir, "manager.log")
        self.stderr = os.path.join(self.dir, "stderr.log")
        self.stdout = os.path.join(self.dir, "stdout.log")
        self.umask = umask
        self.remote_port, self.auth_port = free_ports(2)
        self.ruleset_src = ruleset_src
        self.password = password
        os.makedirs(self.root, exist_ok=True)
        remote_extra = f"<keepalive>{keepalive}</keepalive>" if keepalive else ""
        if password is GENERATED:
            use_password = ""
        else:
            use_password = f"<use_password>{'yes' if password else 'no'}</use_password>"
        if global_rate:
            use_password += f"<global_rate_limit>{global_rate}</global_rate_limit>"
        self.config = f"""<ossec_config>
  <global>
    <jsonout_output>yes</jsonout_output>
    <logall_json>{'yes' if logall_json else 'no'}</logall_json>
  </global>
  <alerts><log_alert_level>3</log_alert_level><email_alert_level>12</email_alert_level></alerts>
  <remote>
    <connection>secure</connection><protocol>tcp</protocol>
    <port>{self.remote_port}</port><local_ip>127.0.0.1</local_ip>{remote_extra}
  </remote>
  <auth>
    <port>{self.auth_port}</port><local_ip>127.0.0.1</local_ip>
    {use_password}{auth_extra}
  </auth>
  <ruleset>
    <decoder_dir>ruleset/decoders</decoder_dir>
    <rule_dir>ruleset/rules</rule_dir>
    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>
  <manager><local_collection>{'auto' if local else 'no'}</local_collection>{manager_extra}</manager>
{extra}
</ossec_config>
"""
        write(os.path.join(self.root, "etc", "manager.conf"), self.config)
        if password and password is not GENERATED:
            write(os.path.join(self.root, "etc", "authd.pass"), password + "\n", 0o600)
        self.proc = None
        self.preexec = None  # run in the child before exec (e.g. resource limits)
        self.extra_env = {}
        self._alerts_off = 0
        self._alerts = []

    # ---- process ------------------------------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        if self.ruleset_src:
            e["TLD_RULESET_SRC"] = self.ruleset_src
        e.update(self.extra_env)
        return e

    def cli(self, *args, input=None, timeout=120):
        return subprocess.run([manager_bin(), "-r", self.root, *args], env=self.env(),
                              input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def start(self, wait_ready=True):
        # A stale stats file would make the start look finished.
        try:
            os.unlink(os.path.join(self.root, "var/run/tld-manager.stats.json"))
        except OSError:
            pass
        args = [manager_bin(), "-r", self.root, "-l", self.logfile]
        if os.environ.get("TLD_MANAGER_DEBUG"):
            args.append("-d")
        err, out = open(self.stderr, "ab"), open(self.stdout, "ab")
        umask, preexec = self.umask, self.preexec

        def child_setup():
            if umask is not None:
                os.umask(umask)
            if preexec:
                preexec()

        self.proc = subprocess.Popen(args, env=self.env(), stdout=out, stderr=err,
                                     preexec_fn=child_setup)
        err.close()
        out.close()
        if wait_ready:
            wait_until(lambda: self.stats() or self.proc.poll() is not None, 60,
                       what="the manager's stats file")
            assert self.proc.poll() is None, f"manager exited at start:\n{self.log_tail()}"
        return self

    def log_text(self):
        try:
            return open(self.logfile, errors="replace").read()
        except OSError:
            return ""

    @property
    def alerts_path(self):
        return os.path.join(self.root, "logs/alerts/alerts.json")

    @property
    def archives_path(self):
        return os.path.join(self.root, "logs/archives/archives.json")

    def alerts(self):
        """Every complete alert line so far, parsed (incremental; survives restarts since the
        file only grows, except for a cut partial line that was never complete)."""
        try:
            with open(self.alerts_path, "rb") as f:
                f.seek(self._alerts_off)
                data = f.read()
        except OSError:
            return self._alerts
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            self._alerts.append(json.loads(line))
        self._alerts_off += end
        return self._alerts

    def archives(self):
        try:
            with open(self.archives_path, "rb") as f:
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        return [json.loads(l) for l in data[:end].splitlines()]

    def own_events(self, event=None):
        """Own events as seen in archives.json (logall_json): their decoded threatlockdown data."""
        out = []
        for a in self.archives():
            if a.get("location") != "threatlockdown-manager":
                continue
            text = json.loads(a["full_log"])
            ev = text.get("threatlockdown", {})
            if event is None or ev.get("event") == event:
                out.append(ev)
        return out

    def wait_alerts(self, pred, timeout=60, what="alerts"):
        return wait_until(lambda: pred(self.alerts()), timeout, what=what)

    def wait_own(self, event, n=1, timeout=30):
        return wait_until(lambda: len(self.own_events(event)) >= n and self.own_events(event),
                          timeout, what=f"{n} own event(s) '{event}'")

    def agent_config(self, localfiles=(), docker=None, name=None, password_file=None,
                     extra=""):
        """An agent configuration pointing at this manager (auto-enrollment included)."""
        enroll = [f"<port>{self.auth_port}</port>"]
        if name:
            enroll.append(f"<agent_name>{name}</agent_name>")
        if password_file:
            enroll.append(f"<authorization_pass_path>{password_file}</authorization_pass_path>")
        client = (f"<client><server><address>127.0.0.1</address><port>{self.remote_port}</port>"
                  f"</server><enrollment>{''.join(enroll)}</enrollment></client>")
        return agentlib.config_xml(localfiles=localfiles, docker=docker, extra=client + extra)

    def enroll(self, agent_root, name, password_file=None, extra=()):
        args = [agentlib.agent_bin(), "enroll", "--manager", f"127.0.0.1:{self.auth_port}",
                "--name", name, "-r", agent_root, *extra]
        if password_file:
            args += ["--password-file", password_file]
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


# ---- fixtures (imported by the test modules) ----------------------------------------------------
import pytest  # noqa: E402


@pytest.fixture
def manager_factory(tmp_path):
    made = []

    def make(**kw):
        m = Manager(tmp_path, **kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.cleanup()
