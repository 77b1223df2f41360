#!/usr/bin/env python3
"""A private Docker engine for ThreatLockDown's integration tests.

The tests never touch a Docker engine they did not start: they run their own dockerd with its
own socket, data root, exec root, pid file and bridge, so they can stop and restart it (the
agent's resume tests need that) without disturbing anything else on the machine. No registry
is reachable from test machines, so the images are built here from host binaries and loaded
with `docker load`:

  tld-busybox:latest  a static busybox (sh, seq, awk, sleep, ...) for log writers
  httpd:latest        stand-in for the official image: busybox httpd on :80, STOPSIGNAL
                      SIGWINCH, CMD httpd-foreground, workdir /usr/local/apache2
  nginx:latest        stand-in: the host's nginx and the libraries it links, the official
                      image's `main` log format, access log on stdout, error log on stderr

Usable from pytest (DockerEnv) and from the shell:
  tld_docker_env.py up | down | status        (as root)

Environment: TLD_TEST_DOCKER_DIR (state and data, default /var/tmp/tld-itest-docker),
TLD_TEST_DOCKER_RUN (sockets and pid file, default /run/tld-itest-docker).
Every wait has a bound: dockerd start 60 s, stop 60 s, each docker command 120 s.
"""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import hashlib

BRIDGE = "tldit0"
BRIDGE_CIDR = "10.213.77.1/24"
HERE = os.path.dirname(os.path.abspath(__file__))


def _which(name):
    for d in ("/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


class DockerUnavailable(Exception):
    """dockerd cannot run on this machine; the message says why."""


class DockerEnv:
    def __init__(self, state_dir=None, run_dir=None):
        self.state_dir = state_dir or os.environ.get("TLD_TEST_DOCKER_DIR", "/var/tmp/tld-itest-docker")
        self.run_dir = run_dir or os.environ.get("TLD_TEST_DOCKER_RUN", "/run/tld-itest-docker")
        self.socket = os.path.join(self.run_dir, "docker.sock")
        self.pidfile = os.path.join(self.run_dir, "docker.pid")
        self.data_root = os.path.join(self.state_dir, "data")
        self.exec_root = os.path.join(self.run_dir, "exec")
        self.log_path = os.path.join(self.state_dir, "dockerd.log")
        self.proc = None
        self.started_here = False
        self.docker_bin = _which("docker")

    # ---- plumbing ---------------------------------------------------------------------------
    @property
    def host(self):
        return "unix://" + self.socket

    def env(self):
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e.pop("DOCKER_CONTEXT", None)
        return e

    def docker(self, *args, check=True, timeout=120, input=None):
        """Run the docker CLI against our engine; returns stdout (str)."""
        if args and args[0] in ("run", "create") and args[1:3] != ("--pull", "never"):
            # a missing test image must fail at once, never make dockerd reach for a registry
            raise ValueError(f"docker {args[0]} without --pull never: {args}")
        p = subprocess.run([self.docker_bin, *args], env=self.env(), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stderr.decode(errors='replace').strip()}")
        return p.stdout.decode(errors="replace")

    def answers(self):
        if not os.path.exists(self.socket) or not self.docker_bin:
            return False
        try:
            p = subprocess.run([self.docker_bin, "version", "-f", "{{.Server.Version}}"],
                               env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=10)
            return p.returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _pid_alive(self):
        try:
            pid = int(open(self.pidfile).read().strip())
        except (OSError, ValueError):
            return None
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        return pid if comm == "dockerd" and state != "Z" else None

    @staticmethod
    def _ip():
        # iproute2's ip, or busybox's (busybox-static is installed with the test tools)
        if shutil.which("ip"):
            return ["ip"]
        return ["busybox", "ip"] if shutil.which("busybox") else None

    def _bridge(self):
        ip = self._ip()
        if subprocess.run(ip + ["link", "show", BRIDGE], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(ip + ["link", "add", BRIDGE, "type", "bridge"], check=True)
            subprocess.run(ip + ["addr", "add", BRIDGE_CIDR, "dev", BRIDGE], check=True)
        subprocess.run(ip + ["link", "set", BRIDGE, "up"], check=True)

    # ---- engine -----------------------------------------------------------------------------
    def why_unavailable(self):
        if os.geteuid() != 0:
            return "integration tests with Docker need root (dockerd cannot run otherwise)"
        if not _which("dockerd"):
            return "dockerd is not installed (apt-get install docker.io; mk/deps.sh does it)"
        if not self.docker_bin:
            return "the docker client is not installed"
        if not self._ip():
            return "neither iproute2's ip nor busybox is installed (to create the test bridge)"
        return None

    def start(self, timeout=60):
        """Start our dockerd unless it already answers. Raises DockerUnavailable."""
        why = self.why_unavailable()
        if why:
            raise DockerUnavailable(why)
        if self.answers():
            return
        os.makedirs(self.state_dir, exist_ok=True)
        os.makedirs(self.run_dir, exist_ok=True)
        pid = self._pid_alive()
        if pid:
            raise DockerUnavailable(f"dockerd pid {pid} holds {self.pidfile} but does not answer")
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)  # stale: dockerd refuses to start while it exists
        try:
            self._bridge()
        except subprocess.CalledProcessError as e:
            raise DockerUnavailable(f"cannot create bridge {BRIDGE}: {e}")
        args = [_which("dockerd"), "--host", self.host, "--data-root", self.data_root,
                "--exec-root", self.exec_root, "--pidfile", self.pidfile, "--bridge", BRIDGE,
                "--iptables=false", "--ip-masq=false", "--cgroup-parent", "tld-itest",
                "--log-level", "warn"]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        self.started_here = True
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None:
                raise DockerUnavailable("dockerd exited during start-up:\n" + self._log_tail())
            if time.monotonic() > deadline:
                self.stop()
                raise DockerUnavailable(f"dockerd did not answer within {timeout} s:\n" + self._log_tail())
            time.sleep(0.2)

    def _log_tail(self, n=15):
        try:
            return "".join(open(self.log_path, errors="replace").readlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=60):
        """SIGTERM our dockerd (only one we started or whose pid file is ours) and wait."""
        pid = self.proc.pid if self.proc and self.proc.poll() is None else self._pid_alive()
        if not pid:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.pid == pid:
                if self.proc.poll() is not None:
                    break
            elif not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"dockerd pid {pid} still running {timeout} s after SIGTERM")
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    # ---- images -----------------------------------------------------------------------------
    def has_image(self, ref):
        return subprocess.run([self.docker_bin, "image", "inspect", ref], env=self.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0

    def ensure_images(self):
        for name, build in (("tld-busybox:latest", self._rootfs_busybox),
                            ("httpd:latest", self._rootfs_httpd),
                            ("nginx:latest", self._rootfs_nginx)):
            if not self.has_image(name):
                files, config = build()
                self.load_image(name, files, config)

    def load_image(self, tag, files, config):
        """files: list of (path, kind, data/target, mode). One-layer image via docker load."""
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
            seen = set()
            for path, kind, data, mode in files:
                parts = path.split("/")
                for i in range(1, len(parts)):
                    d = "/".join(parts[:i])
                    if d and d not in seen:
                        seen.add(d)
                        ti = tarfile.TarInfo(d)
                        ti.type = tarfile.DIRTYPE
                        ti.mode = 0o755
                        t.addfile(ti)
                ti = tarfile.TarInfo(path)
                ti.mode = mode
                if kind == "dir":
                    if path in seen:
                        continue
                    seen.add(path)
                    ti.type = tarfile.DIRTYPE
                    t.addfile(ti)
                elif kind == "link":
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = data
                    t.addfile(ti)
                else:
                    ti.size = len(data)
                    t.addfile(ti, io.BytesIO(data))
        blob = layer.getvalue()
        diff = hashlib.sha256(blob).hexdigest()
        cfg = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
               "config": config, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}
        manifest = [{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as t:
            for name, data in (("manifest.json", json.dumps(manifest).encode()),
                               ("config.json", json.dumps(cfg).encode()), ("layer.tar", blob)):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
        self.docker("load", "-q", input=out.getvalue())

    @staticmethod
    def _busybox_files():
        bb = open("/bin/busybox", "rb").read()
        files = [("bin/busybox", "file", bb, 0o755), ("tmp", "dir", None, 0o1777)]
        applets = subprocess.run(["/bin/busybox", "--list"], stdout=subprocess.PIPE,
                                 check=True).stdout.decode().split()
        files += [(f"bin/{a}", "link", "busybox", 0o777) for a in applets if a != "busybox"]
        return files

    def _rootfs_busybox(self):
        files = self._busybox_files()
        files.append(("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644))
        return files, {"Env": ["PATH=/bin"], "Cmd": ["sh"]}

    def _rootfs_httpd(self):
        files = self._busybox_files()
        files += [
            ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"
             b"www-data:x:33:33:www-data:/var/www:/bin/false\n", 0o644),
            ("etc/group", "file", b"root:x:0:\nwww-data:x:33:\n", 0o644),
            ("usr/local/apache2/htdocs/index.html", "file",
             b"<html><body><h1>It works!</h1></body></html>\n", 0o644),
            # PID 1 ignores signals without a handler: trap the stop signal and exit 0 at once.
            ("usr/local/bin/httpd-foreground", "file",
             b"#!/bin/sh\ntrap 'exit 0' WINCH TERM INT\n"
             b"busybox httpd -f -p 80 -h /usr/local/apache2/htdocs &\nwait\n", 0o755),
        ]
        cfg = {"Env": ["PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                       "/usr/bin:/sbin:/bin"],
               "Cmd": ["httpd-foreground"], "WorkingDir": "/usr/local/apache2",
               "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGWINCH"}
        return files, cfg

    def _rootfs_nginx(self):
        nginx = "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            raise DockerUnavailable("the host has no /usr/sbin/nginx to build the nginx image from")
        files = self._busybox_files()
        files.append(("usr/sbin/nginx", "file", open(nginx, "rb").read(), 0o755))
        ldd = subprocess.run(["ldd", nginx], stdout=subprocess.PIPE, check=True).stdout.decode()
        for tok in ldd.split():
            if tok.startswith("/") and os.path.exists(tok):
                files.append((tok.lstrip("/"), "file", open(os.path.realpath(tok), "rb").read(), 0o755))
        conf = (b"user nginx;\nworker_processes 1;\ndaemon off;\n"
                b"error_log /var/log/nginx/error.log notice;\npid /run/nginx.pid;\n"
                b"events { worker_connections 1024; }\n"
                b"http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
                b"  log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
                b"                  '$status $body_bytes_sent \"$http_referer\" '\n"
                b"                  '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n"
                b"  access_log /var/log/nginx/access.log main;\n"
                b"  include /etc/nginx/conf.d/*.conf;\n}\n")
        entry = (b"#!/bin/sh\nset -eu\nlisten=${NGINX_PORT:-80}\n"
                 b"printf 'server {\\n  listen %s;\\n  location / { root /usr/share/nginx/html; }\\n}\\n' "
                 b"\"$listen\" > /etc/nginx/conf.d/default.conf\n"
                 b"echo \"$0: Configuration complete; ready for start up\"\nexec \"$@\"\n")
        mime = open("/etc/nginx/mime.types", "rb").read() if os.path.exists("/etc/nginx/mime.types") \
            else b"types { text/html html; }\n"
        files += [
            ("etc/nginx/nginx.conf", "file", conf, 0o644),
            ("etc/nginx/mime.types", "file", mime, 0o644),
            ("etc/nginx/conf.d", "dir", None, 0o755),
            ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101::/nonexistent:/bin/false\n", 0o644),
            ("etc/group", "file", b"root:x:0:\nnginx:x:101:\n", 0o644),
            ("usr/share/nginx/html/index.html", "file", b"<html><body>tld nginx</body></html>\n", 0o644),
            ("var/log/nginx/access.log", "link", "/dev/stdout", 0o777),
            ("var/log/nginx/error.log", "link", "/dev/stderr", 0o777),
            ("var/lib/nginx", "dir", None, 0o755), ("var/cache/nginx", "dir", None, 0o755),
            ("run", "dir", None, 0o755),
            ("docker-entrypoint.sh", "file", entry, 0o755),
        ]
        cfg = {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Entrypoint": ["/docker-entrypoint.sh"],
               "Cmd": ["nginx"], "StopSignal": "SIGQUIT"}
        return files, cfg

    # ---- housekeeping -----------------------------------------------------------------------
    def remove_containers(self, prefix):
        """Remove every container whose name starts with prefix (tests name theirs)."""
        names = self.docker("ps", "-a", "--format", "{{.Names}}", check=False).split()
        mine = [n for n in names if n.startswith(prefix)]
        if mine:
            self.docker("rm", "-f", *mine, check=False)


def main():
    env = DockerEnv()
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "up":
        env.start()
        env.ensure_images()
        print(f"engine answers on {env.socket}; images ready")
    elif cmd == "down":
        env.stop()
        print("stopped")
    elif cmd == "status":
        print("answers" if env.answers() else "not answering", env.socket)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
