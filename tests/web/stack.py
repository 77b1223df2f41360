#!/usr/bin/env python3
"""A manager with a filled alert store and its tld-api serving the built dashboard, for the
browser tests (tests/web/*.test.mjs). Prints one JSON line (the dashboard's URL, the admin
password, the files to append events to, the stored alert count) once everything is up, then
keeps running until its stdin closes, and stops both daemons (exit status: theirs)."""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from agentlib import wait_until  # noqa: E402
from apilib import Api, api_block  # noqa: E402
import mgrlib  # noqa: E402

SSH_FAIL = "Dec  7 10:00:{s:02d} web01 sshd[{pid}]: Failed password for invalid user {u} from 10.0.0.{ip} port {port} ssh2"
SSH_OK = "Dec  7 10:01:{s:02d} web01 sshd[{pid}]: Accepted password for {u} from 10.0.0.{ip} port {port} ssh2"
SQLI = ('192.168.132.{ip} - - [12/May/2023:14:12:14 +0000] "GET /users/?id=SELECT+*+FROM+users HTTP/1.1" '
        '404 153 "-" "curl/7.68.0" "-"')
ACTIONS = ["start", "stop", "die", "pause", "unpause", "kill", "restart", "create"]
IMAGES = ["httpd", "nginx:1.27", "redis:7", "postgres:16"]


LOCAL_RULES = """<group name="local,">
  <rule id="100900" level="3">
    <match>tld-browser-marker-one</match>
    <description>Local rule of the browser tests</description>
  </rule>
</group>
"""


def docker_event(i, name, image, action):
    return json.dumps({"integration": "docker", "docker": {
        "status": action, "id": f"{i:064x}", "from": image, "Type": "container", "Action": action,
        "Actor": {"ID": f"{i:064x}", "Attributes": {"image": image, "name": name}},
        "scope": "local", "time": int(time.time()), "timeNano": int(time.time() * 1e9)}})


def ruleset(dst):
    """The shipped ruleset; the Docker rules accept events read from a file (no dockerd here)."""
    shutil.copytree(os.path.join(REPO, "ruleset"), dst)
    p = os.path.join(dst, "rules", "0560-docker_rules.xml")
    with open(p) as f:
        text = f.read().replace("<source>docker</source>", "")
    with open(p, "w") as f:
        f.write(text)
    return dst


def fill(syslog, docker):
    lines, events = [], []
    for i in range(40):
        lines.append(SSH_FAIL.format(s=i % 60, pid=1000 + i, u=["admin", "oracle", "test"][i % 3],
                                     ip=5 + i % 4, port=40000 + i))
    for i in range(12):
        lines.append(SSH_OK.format(s=i, pid=2000 + i, u=["alice", "bob"][i % 2], ip=20, port=41000 + i))
    for i in range(6):
        lines.append(SQLI.format(ip=1 + i))
    mission = open(os.path.join(REPO, "tests/data/mission/input-docker-event-start.json")).read().strip()
    events.append(mission)
    for i in range(30):
        events.append(docker_event(i + 1, f"web-{i % 5}", IMAGES[i % 4], ACTIONS[i % 8]))
    with open(docker, "a") as f:
        for e in events:
            f.write(e + "\n")
    with open(syslog, "a") as f:
        for l in lines:
            f.write(l + "\n")


def main():
    work = tempfile.mkdtemp(prefix="tld-web-")
    port = mgrlib.free_ports(1)[0]
    syslog, docker = os.path.join(work, "events.log"), os.path.join(work, "docker.json")
    open(syslog, "w").close()
    open(docker, "w").close()
    web_root = os.environ.get("TLD_WEB_ROOT", os.path.join(REPO, "web", "dist"))
    extra = (api_block(port, f"<web_root>{web_root}</web_root>") +
             f"<localfile><log_format>syslog</log_format><location>{syslog}</location></localfile>"
             f"<localfile><log_format>json</log_format><location>{docker}</location></localfile>"
             "<store><backend>sqlite</backend><path>var/db/alerts.db</path></store>")
    m = mgrlib.Manager(work, ruleset_src=ruleset(os.path.join(work, "rs")), logall_json=False,
                       local=True, extra=extra)
    # A local rule file for the Ruleset page's editor (its marker appears in no filled event).
    os.makedirs(os.path.join(m.root, "etc", "rules"), exist_ok=True)
    with open(os.path.join(m.root, "etc", "rules", "local_rules.xml"), "w") as f:
        f.write(LOCAL_RULES)
    api = Api(m.root, port)
    rc = 0
    try:
        m.start()
        # The manager reads new lines only (as tail -f): write once it follows both files.
        for path, line in ((syslog, SSH_OK.format(s=59, pid=1, u="probe", ip=99, port=1)),
                           (docker, docker_event(999, "probe", "busybox", "create"))):
            def seen(path=path, line=line):
                with open(path, "a") as f:
                    f.write(line + "\n")
                time.sleep(0.5)
                return any(a.get("location") == path for a in m.alerts())
            wait_until(seen, 60, interval=0.1, what=f"the manager following {path}")
        fill(syslog, docker)

        def caught_up():
            # The store's position at the end of alerts.json (stats first, the file after): a
            # lag of zero alone may be a stats round older than the last lines.
            st = (m.stats() or {}).get("store", {})
            if not (st.get("open") and st.get("behind_bytes") == 0 and not st.get("last_error")):
                return False
            if not os.path.exists(m.alerts_path):
                return False
            with open(m.alerts_path, "rb") as f:
                data = f.read()
            pos = st.get("position") or [0, 0]
            n = data.count(b"\n")
            return n >= 90 and pos[1] == data.rfind(b"\n") + 1 and n
        wait_until(caught_up, 180, interval=0.5, what="the store caught up")
        api.start()
        n = len(m.alerts())
        print(json.dumps({"url": f"https://127.0.0.1:{port}/app/", "origin": f"https://127.0.0.1:{port}",
                          "user": "admin", "password": api.admin_password, "syslog": syslog,
                          "docker": docker, "alerts": n, "root": m.root}), flush=True)
        sys.stdin.read()  # until the test closes our stdin (or dies)
    except Exception as e:  # noqa: BLE001 - reported to the test on stdout
        print(json.dumps({"error": str(e)}), flush=True)
        rc = 1
    finally:
        for d in (api, m):
            try:
                if d.proc and d.proc.poll() is None:
                    d.stop()
            except AssertionError as e:
                print(f"stack: {e}", file=sys.stderr)
                rc = 1
        if rc == 0:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
