#!/usr/bin/env python3
"""Markdown for the "Fleet" section of docs/performance.md from bench/fleet.sh's JSON lines.

    python3 bench/fleet_doc.py build/bench/fleet.jsonl | python3 bench/doc_section.py fleet ...
"""
import datetime
import json
import os
import sys


def main():
    steps = {}
    with open(sys.argv[1]) as f:
        for line in f:
            d = json.loads(line)
            steps[d.get("step", "tls")] = d
    tls, en, fl = steps.get("tls"), steps.get("enroll"), steps.get("fleet")
    day = datetime.date.today().isoformat()
    cores = os.cpu_count()
    out = [f"`bash bench/fleet.sh` (release build; part of `make bench`), {day}, on this "
           f"{cores}-core machine shared with other work: the simulator (bench/agent_sim.c) and "
           "the manager compete for the same cores, so the manager's figures are lower bounds. "
           "Every agent speaks the real transport (mutual TLS 1.3, HELLO/WELCOME, BATCH/ACK) "
           "from its own 127.1.x.y address; an event counts as delivered only when its ACK "
           "came back (the manager acknowledges what its journal holds durably).", "",
           "| fleet benchmark | result | target | |", "|---|---|---|---|"]

    def row(what, result, target="", met=None):
        out.append(f"| {what} | {result} | {target} | "
                   f"{'' if met is None else ('met' if met else 'NOT met')} |")

    if en:
        row(f"enrollment with a password, {en['enrolled']} fresh agents in parallel",
            f"{en['enroll_seconds']:.1f} s ({en['enrolled'] / max(en['enroll_seconds'], 0.01):.0f}/s)",
            "1,000 in <= 60 s", en["enroll_seconds"] <= 60 * en["enrolled"] / 1000)
    if tls:
        row("TLS handshake CPU, manager side: full / resumed (median)",
            f"{tls['server_full_us']} / {tls['server_resumed_us']} us")
        row("TLS handshake CPU, agent side: full / resumed (median)",
            f"{tls['client_full_us']} / {tls['client_resumed_us']} us")
    if fl:
        n = fl["agents"]
        row(f"agents connected (from start, {fl['sim_threads']} simulator threads)",
            f"{fl['connected']:,} in {fl['connect_seconds']:.1f} s", f"{n:,}",
            fl["connected"] == n)
        row("manager RSS per idle agent (connected minus empty, over the agents)",
            f"{fl['rss_per_idle_agent_kb']:.0f} KB ({fl['manager_rss_connected_mb']:.0f} MB "
            f"for {n:,})")
        row("manager threads / descriptors with every agent connected",
            f"{fl['manager_threads']} / {fl['manager_fds']:,}")
        row(f"events acknowledged per second, {n:,} agents x {fl.get('rate', 10):g}/s offered "
            f"(mean over the {fl['traffic_seconds']:.0f} s of traffic, restart included)",
            f"{fl['acked_per_second']:,.0f}/s", f"{n * fl.get('rate', 10):,.0f}/s",
            fl["acked_per_second"] >= n * fl.get("rate", 10))
        row("events generated / acknowledged / lost", f"{fl['generated']:,} / "
            f"{fl['acknowledged']:,} / {fl['lost']:,}", "0 lost", fl["lost"] == 0)
        if "manager_cpu_seconds" in fl and "sim_cpu_seconds" in fl:
            mc, sc, run = fl["manager_cpu_seconds"], fl["sim_cpu_seconds"], fl["run_seconds"]
            row(f"CPU over the {run:.0f} s of traffic and drain: manager / simulator",
                f"{mc:.0f} / {sc:.0f} CPU s ({mc / run:.2f} / {sc / run:.2f} cores; the "
                f"simulator took {100 * sc / max(mc + sc, 0.1):.0f}% of both)")
            row("events per manager CPU second (received, journaled, acknowledged, analysed; "
                "restart included)", f"{fl['acknowledged'] / max(mc, 0.1):,.0f}/s per core")
        row("manager restart (SIGTERM to listening again)", f"{fl['manager_restart_seconds']} s")
        rec = fl["storm_recovery_seconds"]
        row("reconnect storm after the restart: every agent welcomed again",
            f"{rec:.1f} s" if rec >= 0 else "not within the run", "<= 60 s", 0 <= rec <= 60)
        row("handshakes after the first connection: resumed / full",
            f"{fl['handshakes_resumed']:,} / {fl['full_after_connect']:,}")
        row("simulator RSS", f"{fl['sim_rss_kb'] / 1024:.0f} MB")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
