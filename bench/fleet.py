"""Fleet benchmark (bench/fleet.sh): a real tld-manager (release build) on loopback ports and
the simulator (bench/agent_sim.c) holding N agents at R events/s each, with a password for
enrollment and a reconnect storm in the middle. Prints one JSON object with the simulator's
figures and the manager's own (RSS per idle agent, threads, descriptors, events analysed).

    python3 bench/fleet.py BUILD SIM WORKDIR --agents N --rate R --seconds S [--storm-at S]
                           [--restart-at S] [--threads T]

--storm-at makes the simulator drop every connection at once; --restart-at restarts the manager
instead (SIGTERM, then started again at once), the storm a real fleet sees; the simulator times
the recovery either way (from the first agent lost to every agent welcomed again).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def proc(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU of a running process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("sim")
    ap.add_argument("workdir")
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--storm-at", type=int, default=0)
    ap.add_argument("--restart-at", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-password", action="store_true",
                    help="enroll without a password (only to create many identities quickly)")
    a = ap.parse_args()
    root = os.path.join(a.workdir, "root")
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    remote, auth = free_ports(2)
    with open(os.path.join(root, "etc", "authd.pass"), "w") as f:
        f.write("fleet-password\n")
    os.chmod(os.path.join(root, "etc", "authd.pass"), 0o600)
    with open(os.path.join(a.workdir, "pass"), "w") as f:
        f.write("fleet-password\n")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "etc", "manager.conf"), "w") as f:
        f.write(f"""<ossec_config>
  <global><jsonout_output>yes</jsonout_output><logall_json>no</logall_json></global>
  <alerts><log_alert_level>3</log_alert_level></alerts>
  <remote><port>{remote}</port><local_ip>127.0.0.1</local_ip></remote>
  <auth><port>{auth}</port><local_ip>127.0.0.1</local_ip><use_password>{'no' if a.no_password else 'yes'}</use_password>
    <global_rate_limit>1000</global_rate_limit><rate_limit_requests>100000</rate_limit_requests>
    <max_pending_agents>100000</max_pending_agents><max_agents>100000</max_agents></auth>
  <ruleset><decoder_dir>ruleset/decoders</decoder_dir><rule_dir>ruleset/rules</rule_dir></ruleset>
  <manager><local_collection>no</local_collection><intake_max_size>4G</intake_max_size></manager>
  <store><enabled>no</enabled></store>
</ossec_config>
""")
    env = dict(os.environ, TLD_RULESET_SRC=os.path.join(here, "ruleset"))
    stats_path = os.path.join(root, "var/run/tld-manager.stats.json")

    def start_manager():
        if os.path.exists(stats_path):
            os.unlink(stats_path)  # a previous run's: its appearance says this one is up
        m = subprocess.Popen([os.path.join(a.build, "bin", "tld-manager"), "-r", root, "-l",
                              os.path.join(a.workdir, "manager.log")], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            if os.path.exists(stats_path):
                break
            time.sleep(0.1)
        return m

    mgr = start_manager()
    try:
        rss0 = proc(mgr.pid, "VmRSS")
        sim = subprocess.Popen([a.sim, "--port", str(remote), "--enroll-port", str(auth),
                                "--ids", os.path.join(a.workdir, "ids"), "--agents", str(a.agents),
                                *([] if a.no_password else
                                  ["--password-file", os.path.join(a.workdir, "pass")]),
                                "--rate", str(a.rate), "--seconds", str(a.seconds),
                                "--storm-at", str(a.storm_at), "--threads", str(a.threads)],
                               stdout=subprocess.PIPE, text=True)
        first = json.loads(sim.stdout.readline())
        time.sleep(1.5)  # the simulator is idle for 3 s after everyone connected
        idle = {"rss_kb": proc(mgr.pid, "VmRSS"), "threads": proc(mgr.pid, "Threads"),
                "fds": fds(mgr.pid)}
        # The manager's CPU over the simulator's traffic and drain (its own is in its output).
        mgr_cpu = -cpu_seconds(mgr.pid)
        restart_s = 0
        if a.restart_at:
            time.sleep(max(0, a.restart_at + 1.5))  # the traffic phase began 1.5 s ago
            t = time.time()
            mgr.send_signal(signal.SIGTERM)
            _, _, ru = os.wait4(mgr.pid, 0)
            mgr.returncode = 0
            mgr_cpu += ru.ru_utime + ru.ru_stime
            mgr = start_manager()
            restart_s = time.time() - t
        last = json.loads(sim.stdout.readline())
        sim.wait(300)
        # The stats file is rewritten every few seconds: wait for the one that saw the end.
        for _ in range(100):
            with open(stats_path) as f:
                st = json.load(f)
            if st["remote"]["events"] >= last["acknowledged"]:
                break
            time.sleep(0.1)
        mgr_cpu += cpu_seconds(mgr.pid)
        out = dict(last)
        out["rate"] = a.rate
        out["manager_cpu_seconds"] = round(mgr_cpu, 1)
        out.update({
            "manager_rss_start_mb": round(rss0 / 1024, 1),
            "manager_rss_connected_mb": round(idle["rss_kb"] / 1024, 1),
            "rss_per_idle_agent_kb": round((idle["rss_kb"] - rss0) / max(1, first["agents"]), 1),
            "manager_threads": idle["threads"], "manager_fds": idle["fds"],
            "manager_restart_seconds": round(restart_s, 2),
            "manager_events": st["remote"]["events"], "manager_duplicates":
                st["remote"]["duplicates"], "sim_exit": sim.returncode})
        print(json.dumps(out))
        return 0 if sim.returncode == 0 else 1
    finally:
        mgr.send_signal(signal.SIGTERM)
        try:
            mgr.wait(30)
        except subprocess.TimeoutExpired:
            mgr.kill()


if __name__ == "__main__":
    sys.exit(main())
