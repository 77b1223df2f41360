"""The Debian packages on this machine, from install to purge (docs/install.md).

Builds the packages of this tree (mk/deb.sh; TLD_DEBS=DIR uses ones `make deb` already built)
and those of the previous release (commit PREVIOUS, checked out with `git worktree add` in a
temporary folder, given this tree's packaging and an older version number; TLD_PREVIOUS_DEBS=DIR
uses ones built before), then:

1. installs the previous release's packages with dpkg -i and checks the user, the files, their
   owners and modes, and that the secrets are 0600 files of the right owner;
2. starts the daemons as their systemd units would (same user, command line, umask, capability
   bounding set, no-new-privileges; with setpriv, systemd not being needed), enrolls the agent
   with the generated password, and waits for it to be connected to the manager and the tests'
   dockerd;
3. stops the manager, runs use case (a) so its events queue in the agent's spool, stops the
   agent with them queued, and upgrades to this tree's packages;
4. checks the upgrade kept the configuration, CA, secrets, agent identity and registry and gave
   the state its format versions; starts the new daemons: every alert of use case (a) arrives,
   once and in order (nothing lost, nothing analysed twice); runs use case (b) live; checks
   `status` of both, the API's login with the generated admin password, and the units with
   `systemd-analyze verify`;
5. purges both packages: nothing the packages made is left (root, user, units, binaries), and a
   file an administrator put in the root is kept.

This machine is left as it was found: the packages are purged, the processes stopped and the
worktree removed in a `finally`, whatever failed. Needs root, dpkg-buildpackage and a dockerd;
refuses to run (skip, with the reason) where an installation already exists.
"""
import json
import os
import pwd
import grp
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import usecases
from agentlib import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PREVIOUS = "4f8068a"
PREVIOUS_VERSION = "0.1.0~git4f8068a-1"
MROOT, AROOT, USER = "/var/threatlockdown", "/var/threatlockdown-agent", "threatlockdown"
UNITS = "/lib/systemd/system"
PACKAGES = ("threatlockdown-manager", "threatlockdown-agent")
BUILD_TIMEOUT = 1500
# What the packages put outside the roots; none of it may be left after purge.
SHIPPED = ("/usr/bin/tld-manager", "/usr/bin/tld-api", "/usr/bin/tld-agent",
           "/usr/bin/tld-logtest", "/usr/share/threatlockdown",
           "/usr/share/doc/threatlockdown-manager", "/usr/share/doc/threatlockdown-agent",
           f"{UNITS}/tld-manager.service", f"{UNITS}/tld-api.service",
           f"{UNITS}/tld-agent.service")


def sh(*args, timeout=120, check=True, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       **kw)
    out = p.stdout.decode(errors="replace")
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{out[-4000:]}")
    return out


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.returncode == 0 and b"installed" in p.stdout


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def why_not():
    if os.geteuid() != 0:
        return "installing packages needs root"
    for tool in ("dpkg-buildpackage", "dh", "setpriv", "git"):
        if not shutil.which(tool):
            return f"{tool} is not installed (mk/deps.sh installs it)"
    if not os.environ.get("TLD_PREVIOUS_DEBS") and subprocess.run(
            ["git", "-C", REPO, "cat-file", "-e", PREVIOUS + "^{commit}"],
            stderr=subprocess.DEVNULL).returncode != 0:
        return f"the previous release's commit {PREVIOUS} is not in this clone's history"
    if any(installed(p) for p in PACKAGES):
        return "ThreatLockDown packages are installed here already"
    for path in (MROOT, AROOT):
        if os.path.exists(path):
            return f"{path} exists: an installation this test must not touch"
    try:
        pwd.getpwnam(USER)
        return f"a user {USER} exists already"
    except KeyError:
        pass
    busy = [p for p in (1514, 1515, 55000) if not port_free(p)]
    if busy:
        return f"ports {busy} are in use (the packaged configuration listens on them)"
    return None


# ---- building ---------------------------------------------------------------------------------
def build_debs(tree, version=None):
    """mk/deb.sh in tree; returns {package: .deb path}."""
    env = dict(os.environ)
    if version:
        env["DEB_VERSION"] = version
        env["DEB_LINTIAN"] = "0"  # the current packages are the ones lintian must pass
    sh("bash", os.path.join(tree, "mk/deb.sh"), timeout=BUILD_TIMEOUT, env=env, cwd=tree)
    return debs_in(os.path.join(tree, "build/deb"))


def debs_in(d):
    out = {}
    for p in PACKAGES:
        found = [f for f in os.listdir(d) if f.startswith(p + "_") and f.endswith(".deb")]
        assert len(found) == 1, f"{d}: expected one {p} package, found {found}"
        out[p] = os.path.join(d, found[0])
    return out


def previous_tree(tmp):
    """The previous release's source with this tree's packaging (it had none)."""
    tree = os.path.join(tmp, "previous")
    sh("git", "-C", REPO, "worktree", "add", "--detach", tree, PREVIOUS)
    for part in ("debian", "pkg", "mk/deb.sh", "Makefile", "docs/install.md"):
        src, dst = os.path.join(REPO, part), os.path.join(tree, part)
        if os.path.isdir(src):
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
    return tree


# ---- running as the units would ---------------------------------------------------------------
def unit(name):
    """The [Service] settings of an installed unit that shape the process."""
    s = {}
    for line in open(os.path.join(UNITS, name)):
        line = line.strip()
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            s[k] = v
    return s


def as_unit(name, log):
    """Start the unit's ExecStart with its User, UMask and CapabilityBoundingSet through setpriv
    (what systemd does, minus the namespaces), in a session of its own. Returns the Popen."""
    u = unit(name)
    caps = u.get("CapabilityBoundingSet", "").split()
    bounding = "-all" + "".join(",+" + c.lower().removeprefix("cap_") for c in caps)
    cmd = ["setpriv", "--bounding-set", bounding, "--inh-caps", "-all"]
    if u.get("NoNewPrivileges") == "yes":
        cmd.append("--no-new-privs")
    user = u.get("User", "root")
    if user != "root":
        cmd += ["--reuid", user, "--regid", u.get("Group", user), "--init-groups"]
    cmd += ["--", *shlex.split(u["ExecStart"])]
    mask = int(u.get("UMask", "0022"), 8)
    out = open(log, "ab")
    try:
        return subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=lambda: os.umask(mask))
    finally:
        out.close()


def stop(proc, what, timeout=90):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"{what} did not stop within {timeout} s")
    assert rc == 0, f"{what} exited with {rc}"


def tail(path, n=3000):
    try:
        return open(path, errors="replace").read()[-n:]
    except OSError:
        return ""


def status_is(argv, wanted, run, timeout=30):
    """Waits until the status command exits 0 and prints every wanted text; the last output is
    in the failure, with the daemons' logs."""
    last = [b""]

    def ok():
        st = subprocess.run(argv, stdout=subprocess.PIPE)
        last[0] = st.stdout
        return st.returncode == 0 and all(w.encode() in st.stdout for w in wanted)
    try:
        wait_until(ok, timeout, interval=0.5, what=f"{argv[0]} status showing {wanted}")
    except AssertionError:
        wait_logged(lambda: False, 0, f"{' '.join(argv)} printed:\n{last[0].decode()}", run)


def wait_logged(pred, timeout, what, run):
    """wait_until, with the daemons' logs in the failure."""
    try:
        return wait_until(pred, timeout, interval=0.2, what=what)
    except AssertionError as e:
        logs = "\n".join(f"--- {p}\n{tail(p)}" for p in (
            f"{MROOT}/logs/manager.log", f"{AROOT}/logs/agent.log", f"{MROOT}/logs/api.log"))
        raise AssertionError(f"{e}\n{run.logs()}\n{logs}") from None


def stats(root, prog):
    try:
        return json.load(open(os.path.join(root, "var/run", f"{prog}.stats.json")))
    except (OSError, ValueError):
        return None


# ---- checks -----------------------------------------------------------------------------------
def owner_mode(path):
    st = os.stat(path)
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o7777


def check_installation():
    u = pwd.getpwnam(USER)
    assert u.pw_shell == "/usr/sbin/nologin" and u.pw_dir == MROOT and u.pw_uid < 1000, u
    expect = {
        MROOT: (USER, USER, 0o750),
        f"{MROOT}/etc": (USER, USER, 0o750),
        f"{MROOT}/etc/manager.conf": (USER, USER, 0o640),
        f"{MROOT}/etc/authd.pass": (USER, USER, 0o600),
        f"{MROOT}/etc/api": (USER, USER, 0o700),
        f"{MROOT}/etc/api/admin.password": (USER, USER, 0o600),
        f"{MROOT}/etc/api/users": (USER, USER, 0o600),
        f"{MROOT}/ruleset/rules": (USER, USER, 0o750),
        AROOT: ("root", "root", 0o750),
        f"{AROOT}/etc/agent.conf": ("root", "root", 0o640),
    }
    for path, want in expect.items():
        assert owner_mode(path) == want, f"{path}: {owner_mode(path)}, expected {want}"
    for f in os.listdir(f"{MROOT}/ruleset/rules"):
        assert owner_mode(f"{MROOT}/ruleset/rules/{f}") == (USER, USER, 0o640), f
    for p in ("/usr/bin/tld-manager", "/usr/bin/tld-api", "/usr/bin/tld-agent"):
        assert owner_mode(p) == ("root", "root", 0o755), p
    for u_ in ("tld-manager.service", "tld-api.service", "tld-agent.service"):
        assert os.path.exists(f"{UNITS}/{u_}"), u_
        # installed, not enabled: nothing the administrator did not ask for
        assert not os.path.exists(f"/etc/systemd/system/multi-user.target.wants/{u_}"), u_


def check_secrets():
    """Every key and password the manager keeps: a 0600 file of its user (certificates 0640)."""
    secrets = [f"{MROOT}/etc/authd.pass", f"{MROOT}/etc/api/admin.password",
               f"{MROOT}/etc/api/jwt.key", f"{MROOT}/var/ca/ca.key",
               f"{MROOT}/var/ca/manager.key"]
    for p in secrets:
        if os.path.exists(p) or not p.endswith("jwt.key"):
            assert owner_mode(p) == (USER, USER, 0o600), f"{p}: {owner_mode(p)}"
    for p in (f"{MROOT}/var/ca/ca.crt", f"{MROOT}/var/ca/manager.crt"):
        assert owner_mode(p)[:2] == (USER, USER) and owner_mode(p)[2] & 0o027 == 0, p
    assert owner_mode(f"{MROOT}/var/ca")[2] == 0o700
    for dirpath, _, files in os.walk(f"{AROOT}/var/tls"):
        for f in files:
            if f.endswith(".key"):
                assert owner_mode(os.path.join(dirpath, f)) == ("root", "root", 0o600), f
    # Nothing the daemons wrote is for everyone (their umask).
    for root in (MROOT, AROOT):
        for dirpath, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(dirpath, n)
                if not os.path.islink(p):
                    assert os.stat(p).st_mode & 0o007 == 0, f"{p} is open to others"


def snapshot():
    """What an upgrade must keep, byte for byte."""
    keep = [f"{MROOT}/etc/authd.pass", f"{MROOT}/etc/api/admin.password",
            f"{MROOT}/etc/api/users", f"{MROOT}/etc/manager.conf", f"{MROOT}/var/ca/ca.crt",
            f"{MROOT}/var/ca/ca.key", f"{AROOT}/etc/agent.conf",
            f"{MROOT}/etc/decoders/local_decoder.xml"]
    keep += [os.path.join(d, f) for d, _, fs in os.walk(f"{AROOT}/var/tls") for f in fs]
    return {p: open(p, "rb").read() for p in keep}


def agent_conf(env):
    """The installed agent.conf as an administrator edits it for the tests' dockerd."""
    text = open(f"{AROOT}/etc/agent.conf").read()
    text = text.replace("<disabled>no</disabled>",
                        f"<disabled>no</disabled>\n    <socket>{env.socket}</socket>")
    return text.replace("/var/lib/docker/containers", f"{env.data_root}/containers")


# ---- the test ---------------------------------------------------------------------------------
class Run:
    """Processes and installations this test made, undone by cleanup() whatever happened."""

    def __init__(self, tmp):
        self.tmp, self.procs, self.trees = tmp, {}, []

    def start(self, unit_name):
        self.procs[unit_name] = as_unit(unit_name, os.path.join(self.tmp, unit_name + ".log"))
        return self.procs[unit_name]

    def stop(self, unit_name):
        stop(self.procs.pop(unit_name, None), unit_name)

    def logs(self):
        """What the started processes printed (their logs go to their roots)."""
        return "\n".join(f"--- {n}\n{tail(os.path.join(self.tmp, n + '.log'))}"
                         for n in ("tld-manager.service", "tld-agent.service", "tld-api.service"))

    def cleanup(self):
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        self.procs.clear()
        present = [p for p in PACKAGES if installed(p) or subprocess.run(
            ["dpkg-query", "-W", p], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL).returncode == 0]
        if present:
            subprocess.run(["dpkg", "--purge", *present], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)
        for path in (MROOT, AROOT):  # absent when the test started (why_not)
            shutil.rmtree(path, ignore_errors=True)
        for tool, name in (("deluser", USER), ("delgroup", USER)):
            subprocess.run([tool, "--system", "--quiet", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        for tree in self.trees:
            subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", tree],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["git", "-C", REPO, "worktree", "prune"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def test_packages_install_upgrade_purge(docker_env):
    why = why_not()
    if why:
        pytest.skip(why)
    env = docker_env
    tmp = tempfile.mkdtemp(prefix="tld-packages.")
    run = Run(tmp)
    try:
        given = os.environ.get("TLD_DEBS")
        new = debs_in(given) if given else build_debs(REPO)
        given = os.environ.get("TLD_PREVIOUS_DEBS")
        if given:
            old = debs_in(given)
        else:
            old_tree = previous_tree(tmp)
            run.trees.append(old_tree)
            old = build_debs(old_tree, PREVIOUS_VERSION)

        # The builds take minutes: the shared dockerd may have been stopped by the session that
        # started it meanwhile; start it again if so (then this session stops it at its end).
        env.start()
        env.ensure_images()

        # 1. the previous release, installed
        out = sh("dpkg", "-i", old["threatlockdown-manager"], old["threatlockdown-agent"],
                 timeout=300)
        password = open(f"{MROOT}/etc/authd.pass").read().strip()
        admin = open(f"{MROOT}/etc/api/admin.password").read().strip()
        assert f"agents enroll with the password {password}" in out, out
        assert f"admin has the password {admin}" in out, out
        check_installation()
        # The mission's decoders, as the administrator adds them (as the manager's user; the
        # previous release makes etc/decoders only at the manager's first start).
        sh("setpriv", "--reuid", USER, "--regid", USER, "--init-groups", "--", "sh", "-c",
           'umask 027 && mkdir -p "$1" && cat > "$1/local_decoder.xml"', "sh",
           f"{MROOT}/etc/decoders", input=usecases.mission_decoders().encode())
        conf = agent_conf(env)
        with open(f"{AROOT}/etc/agent.conf", "w") as f:
            f.write(conf)

        # 2. running as the units would, the agent enrolled with the generated password
        mgr = run.start("tld-manager.service")
        wait_logged(lambda: stats(MROOT, "tld-manager"), 60, "the manager's stats", run)
        assert pwd.getpwuid(os.stat(f"/proc/{mgr.pid}").st_uid).pw_name == USER
        pwfile = os.path.join(tmp, "authd.pass")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        sh("tld-agent", "enroll", "-r", AROOT, "--manager", "127.0.0.1:1515", "--name",
           "PkgAgent", "--password-file", pwfile)
        run.start("tld-agent.service")
        wait_logged(lambda: (s := stats(AROOT, "tld-agent")) and
                    s.get("forwarder", {}).get("connected") and s.get("docker", {}).get("connected"),
                    60, "the agent connected to the manager and dockerd", run)
        check_secrets()

        # 3. events queued in the agent's spool, the daemons stopped, the upgrade
        run.stop("tld-manager.service")
        image_id = usecases.containers_run(env)
        wait_logged(lambda: (s := stats(AROOT, "tld-agent")) and
                    s["spool"]["committed_seq"] > s["spool"]["acked_seq"] + 8, 30,
                    "use case (a)'s events in the agent's spool", run)
        run.stop("tld-agent.service")
        before = snapshot()
        sh("dpkg", "-i", new["threatlockdown-manager"], new["threatlockdown-agent"], timeout=300)
        after = snapshot()
        changed = [p for p in before if before[p] != after.get(p)]
        assert not changed, f"the upgrade changed {changed}"
        check_installation()
        # The previous release kept no format version: its state is read as version 1.
        assert not os.path.exists(f"{AROOT}/queue/spool/FORMAT")

        # 4. the new release: nothing lost, nothing twice; then live
        run.start("tld-manager.service")
        run.start("tld-agent.service")
        alerts = usecases.AlertFile(f"{MROOT}/logs/alerts/alerts.json")
        try:
            usecases.containers_check(alerts, image_id, "PkgAgent", timeout=120)
        except AssertionError as e:
            wait_logged(lambda: False, 0, str(e), run)
        assert open(f"{AROOT}/queue/spool/FORMAT").read() == "spool 1\n"
        assert open(f"{MROOT}/queue/intake/FORMAT").read() == "journal 1\n"
        usecases.web_attack(env, alerts, f"{env.data_root}/containers")
        # The manager started above ran the whole time (a restart would hide a crash).
        mgr = run.procs["tld-manager.service"]
        assert mgr.poll() is None, f"the manager exited with {mgr.returncode}\n{run.logs()}"
        # Both statuses read stats written once a second, and on a loaded machine the agent's
        # session may be between a missed keepalive and its reconnect: wait for the lines.
        status_is(["tld-manager", "-r", MROOT, "status"],
                  [f"running (pid {mgr.pid},", "1 connected"], run)
        status_is(["tld-agent", "status", "-r", AROOT], ["connected as agent 001"], run)
        # The store, written by the unprivileged manager and searched as its user.
        hits = wait_logged(lambda: subprocess.run(
            ["setpriv", "--reuid", USER, "--regid", USER, "--init-groups", "--", "tld-manager",
             "-r", MROOT, "search", "rule.id:31103", "--since", "1h", "--json"],
            stdout=subprocess.PIPE).stdout.strip(), 60, "alert 31103 in the store", run)
        assert b"31103" in hits, hits
        for p in ("var/db/alerts.db", "var/run/tld-manager.stats.json", "var/agents",
                  "logs/alerts/alerts.json", "queue/intake/FORMAT"):
            assert owner_mode(f"{MROOT}/{p}")[:2] == (USER, USER), p
        run.start("tld-api.service")
        token = wait_until(lambda: subprocess.run(
            ["curl", "-s", "--noproxy", "*", "--cacert", f"{MROOT}/var/ca/ca.crt", "-u",
             f"admin:{admin}", "-X", "POST",
             "https://127.0.0.1:55000/security/user/authenticate"],
            stdout=subprocess.PIPE).stdout, 60, interval=0.5, what="the API's login")
        assert json.loads(token)["data"]["token"], token
        check_secrets()
        sh("systemd-analyze", "verify", *(f"{UNITS}/{u}" for u in
                                          ("tld-manager.service", "tld-api.service",
                                           "tld-agent.service")))
        run.stop("tld-api.service")
        run.stop("tld-manager.service")
        wait_logged(lambda: not stats(AROOT, "tld-agent")["forwarder"]["connected"], 30,
                    "the agent noticing the manager is gone", run)
        st = subprocess.run(["tld-agent", "status", "-r", AROOT], stdout=subprocess.PIPE)
        assert st.returncode == 1 and b"NOT CONNECTED" in st.stdout, st.stdout  # degraded
        run.stop("tld-agent.service")
        st = subprocess.run(["tld-manager", "-r", MROOT, "status"], stdout=subprocess.PIPE)
        assert st.returncode == 3, st.stdout

        # 5. purge: what the packages made goes, what the administrator put there stays
        with open(f"{MROOT}/admin-notes.txt", "w") as f:
            f.write("mine\n")
        sh("dpkg", "--purge", *PACKAGES, timeout=300)
        assert os.listdir(MROOT) == ["admin-notes.txt"]
        assert not os.path.exists(AROOT)
        for p in SHIPPED:
            assert not os.path.exists(p), f"{p} left after purge"
        with pytest.raises(KeyError):
            pwd.getpwnam(USER)
        with pytest.raises(KeyError):
            grp.getgrnam(USER)
    finally:
        run.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
