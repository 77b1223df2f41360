"""tld-agent's log collector against real files: discovery, rotation under load, truncation,
long lines, formats, restarts with kill -9, the spool's bounds and torn tails."""
import glob
import json
import os
import random
import subprocess
import time

from agentlib import agent_bin, config_xml, wait_until
from writers import Writer, check_sequence, line

OWN_LOCATION = "threatlockdown-agent"  # the agent's own events (src/collect/spool.h)


def lines_of(agent, path):
    return [r["text"] for r in agent.records() if r["location"] == path]


def collected(records):
    """How many records came from the files, not counting the agent's own status events."""
    return sum(r["location"] != OWN_LOCATION for r in records)


def test_new_files_from_start_existing_from_end(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "old.log").write_text("before start 1\nbefore start 2\n")
    a = agent_factory(config_xml([("syslog", f"{logs}/*.log")])).start()
    with open(logs / "old.log", "a") as f:
        f.write("after start\n")
    # A file created after the agent started is read from its first line, even when it was
    # written at once (no line lost to discovery latency).
    (logs / "new.log").write_text("first line\nsecond line\n")
    sub = logs / "later.log"
    # Counted per file: the agent's own status events are records too.
    def from_file(r, path):
        return [x for x in r if x["location"] == str(path)]
    a.wait_records(lambda r: len(from_file(r, logs / "old.log")) >= 1
                   and len(from_file(r, logs / "new.log")) >= 2, what="the first 3 lines")
    with open(sub, "w") as f:
        f.write("third file line\n")
    a.wait_records(lambda r: len(from_file(r, sub)) >= 1, what="the third file's line")
    time.sleep(0.5)  # nothing more may come
    a.stop()
    assert lines_of(a, str(logs / "old.log")) == ["after start"]
    assert lines_of(a, str(logs / "new.log")) == ["first line", "second line"]
    assert lines_of(a, str(sub)) == ["third file line"]


def test_only_future_events_no_reads_existing_files(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("one\ntwo\n")
    a = agent_factory(config_xml([("syslog", f"{logs}/a.log",
                                   "<only-future-events>no</only-future-events>")])).start()
    a.wait_records(lambda r: collected(r) >= 2)
    a.stop()
    assert lines_of(a, str(logs / "a.log")) == ["one", "two"]


def test_partial_last_line_waits_for_newline(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    a = agent_factory(config_xml([("syslog", f"{logs}/a.log")])).start()
    with open(logs / "a.log", "w") as f:
        f.write("complete\nhalf")
        f.flush()
        a.wait_records(lambda r: collected(r) >= 1)
        time.sleep(0.5)
        assert lines_of(a, str(logs / "a.log")) == ["complete"]
        f.write(" done\n")
    a.wait_records(lambda r: collected(r) >= 2)
    a.stop()
    assert lines_of(a, str(logs / "a.log")) == ["complete", "half done"]


def run_rotation(tmp_path, agent_factory, mode, count=200000, rate=50000, every=20000):
    logs = tmp_path / "logs"
    logs.mkdir()
    path = str(logs / "app.log")
    open(path, "w").close()
    a = agent_factory(config_xml([("syslog", path)])).start()
    w = Writer(path, count, rate=rate, rotate_every=every, mode=mode, width=60)
    t0 = time.monotonic()
    w.start()
    w.join(120)
    assert w.error is None, w.error
    wall = time.monotonic() - t0
    a.wait_count(path, count)
    time.sleep(0.5)
    a.stop()
    texts = lines_of(a, path)
    problem = check_sequence(texts, count, width=60)
    assert problem is None, f"{mode}: {problem}; stats {a.stats()['collector']}"
    assert len(texts) == count
    st = a.stats()["collector"]
    return w, wall, st


def test_rename_rotation_under_load(tmp_path, agent_factory):
    w, wall, st = run_rotation(tmp_path, agent_factory, "rename")
    assert w.rotations == 9
    assert wall < 30
    assert st["rotations"] >= 1


def test_copytruncate_rotation_under_load(tmp_path, agent_factory):
    w, wall, st = run_rotation(tmp_path, agent_factory, "copytruncate")
    assert w.rotations == 9
    assert st["truncations"] >= 1
    # the bytes written after the agent's last read and before the truncation came from the copy
    assert st["truncations"] == w.rotations
    assert wall < 30


def test_truncation_in_place_is_noticed(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    p = logs / "a.log"
    p.write_text("")
    a = agent_factory(config_xml([("syslog", str(p))])).start()
    with open(p, "a") as f:
        f.write("aaaa 1\naaaa 2\naaaa 3\n")
    a.wait_records(lambda r: collected(r) >= 3)
    os.truncate(p, 0)
    with open(p, "a") as f:
        f.write("b\n")  # shorter than before: size reduced
    a.wait_records(lambda r: "b" in [x["text"] for x in r])
    with open(p, "a") as f:
        f.write("c\n")
    a.wait_records(lambda r: "c" in [x["text"] for x in r])
    a.stop()
    assert lines_of(a, str(p)) == ["aaaa 1", "aaaa 2", "aaaa 3", "b", "c"]
    notices = [r["text"] for r in a.records() if r["location"] == "logcollector"]
    assert f"ossec: File size reduced (inode remained): '{p}'." in notices


def test_long_line_truncated_and_flagged(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    p = logs / "a.log"
    p.write_text("")
    a = agent_factory(config_xml([("syslog", str(p))])).start()
    with open(p, "a") as f:
        f.write("short\n" + "L" * (100 * 1024) + "\nafter\n")
    a.wait_records(lambda r: collected(r) >= 3)
    a.stop()
    recs = [r for r in a.records() if r["location"] == str(p)]
    assert [r["text"][:5] for r in recs] == ["short", "LLLLL", "after"]
    assert len(recs[1]["text"]) == 65536 and recs[1].get("truncated") is True
    assert "truncated" not in recs[0] and "truncated" not in recs[2]


def test_json_format_reserialises_and_adds_labels(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    p = logs / "a.json"
    p.write_text("")
    a = agent_factory(config_xml([("json", str(p),
                                   '<label key="app.name">shop</label><label key="env">prod</label>')
                                  ])).start()
    with open(p, "a") as f:
        f.write('{ "msg" : "hi\\/there", "n": 1.0, "app": {"v": 2} }\nnot json\n[1,2]\n{"x":"\\u00e9"}\n')
    a.wait_records(lambda r: collected(r) >= 2)
    time.sleep(0.3)
    a.stop()
    texts = lines_of(a, str(p))
    assert len(texts) == 2
    first = json.loads(texts[0])
    assert first == {"msg": "hi/there", "n": 1, "app": {"v": 2, "name": "shop"}, "env": "prod"}
    assert " " not in texts[0]  # compact
    assert json.loads(texts[1]) == {"x": "é", "app": {"name": "shop"}, "env": "prod"}
    assert a.stats()["collector"]["json_dropped"] == 2


def test_kill9_restarts_resume_exactly(tmp_path, agent_factory):
    """The agent is killed with SIGKILL three times while a writer rotates its file at full
    speed; after each restart it resumes where the spool left it: nothing lost, nothing twice."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = str(logs / "app.log")
    open(path, "w").close()
    a = agent_factory(config_xml([("syslog", path)])).start()
    count = 150000
    w = Writer(path, count, rate=30000, rotate_every=25000, mode="rename", width=40)
    w.start()
    rnd = random.Random(4)
    for _ in range(3):
        time.sleep(0.6 + rnd.random())
        a.kill9()
        time.sleep(0.3)
        a.start()
    w.join(60)
    assert w.error is None
    a.wait_count(path, count)
    time.sleep(1)
    a.stop()
    problem = check_sequence(lines_of(a, path), count, width=40)
    assert problem is None, problem
    assert len(lines_of(a, path)) == count
    seqs = [r["seq"] for r in a.records()]
    assert seqs == sorted(set(seqs)), "the output repeated or reordered records"


def test_positions_survive_clean_restart_and_rotation_while_stopped(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    p = logs / "app.log"
    p.write_text("")
    a = agent_factory(config_xml([("syslog", str(p))])).start()
    with open(p, "a") as f:
        f.write("one\ntwo\n")
    a.wait_records(lambda r: collected(r) >= 2)
    a.stop()
    # While the agent is down: more lines, then a rename rotation, then lines in the new file.
    with open(p, "a") as f:
        f.write("three\n")
    os.rename(p, str(p) + ".1")
    p.write_text("four\n")
    # and a new file appears that matches nothing known before: not configured, ignored
    a.start()
    a.wait_records(lambda r: len([x for x in r if x["location"] == str(p)]) >= 4)
    a.stop()
    assert lines_of(a, str(p)) == ["one", "two", "three", "four"]


def test_spool_backpressure_then_delivery(tmp_path, agent_factory):
    """A 1 MiB spool with no consumer fills up: the collector pauses (no line dropped), the
    spool says so in a status record and a counter; once a consumer runs, every line arrives."""
    logs = tmp_path / "logs"
    logs.mkdir()
    p = str(logs / "a.log")
    open(p, "w").close()
    conf = config_xml([("syslog", p)], extra="<spool><max_size>1MB</max_size></spool>")
    a = agent_factory(conf, output=None).start()
    count = 30000
    w = Writer(p, count, rate=100000, width=100)
    w.start()
    w.join(30)
    st = wait_until(lambda: (s := a.stats()) and s["spool"]["full"] and s["collector"]["stalls"] and s,
                    20, what="the spool to be full")
    assert st["spool"]["bytes"] <= st["spool"]["max_bytes"] + 64 * 1024
    assert st["spool"]["full_count"] == 1 and st["spool"]["refused_pushes"] >= 1
    spooled = st["collector"]["events"]
    assert 0 < spooled < count
    a.stop()
    # Now with a consumer: the rest flows through.
    b = agent_factory(conf, name="agent")
    b.out = os.path.join(b.dir, "out.jsonl")
    b.start()
    b.wait_count(p, count)
    b.stop()
    assert check_sequence(lines_of(b, p), count, width=100) is None
    status = [json.loads(r["text"])["threatlockdown"]["event"] for r in b.records()
              if r["location"] == "threatlockdown-agent"]
    spool = [e for e in status if e.startswith("agent_spool_")]
    assert spool[:2] == ["agent_spool_full", "agent_spool_recovered"]
    # the first agent's start and clean stop, then the second's start
    life = [e for e in status if not e.startswith("agent_spool_")]
    assert life[:3] == ["agent_started", "agent_stopped", "agent_started"], status


def test_spool_torn_tail_counted_rest_kept(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    p = str(logs / "a.log")
    open(p, "w").close()
    conf = config_xml([("syslog", p)])
    a = agent_factory(conf, output=None).start()
    with open(p, "a") as f:
        f.write("".join(f"{line(i)}\n" for i in range(1000)))
    wait_until(lambda: (a.stats() or {}).get("collector", {}).get("events") == 1000, 20)
    a.kill9()
    seg = sorted(glob.glob(os.path.join(a.root, "queue/spool/seg-*.q")))[-1]
    size = os.path.getsize(seg)
    # What a crash in the middle of a write leaves: the start of a frame, not all of it.
    with open(seg, "ab") as f:
        f.write(bytes([200, 0, 0, 0, 1, 2, 3, 4]) + (1001).to_bytes(8, "little") + b"partial")
    a.out = os.path.join(a.dir, "out.jsonl")
    a.start()
    a.wait_count(p, 1000)
    a.stop()
    st = a.stats()["spool"]
    assert st["torn_records"] == 1 and st["torn_bytes"] == 16 + 7
    assert os.path.getsize(seg) >= size
    assert check_sequence(lines_of(a, p), 1000) is None
    assert "torn record" in open(a.logfile).read()
    # the restart says so in its start event, which the shipped rule 549 reports
    started = [json.loads(r["text"])["threatlockdown"] for r in a.records()
               if r["location"] == "threatlockdown-agent"
               and json.loads(r["text"])["threatlockdown"]["event"] == "agent_started"]
    assert [e["torn_records"] for e in started] == [0, 1] and started[1]["torn_bytes"] == 16 + 7


def test_locations_that_cannot_be_read(tmp_path, agent_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    os.mkfifo(logs / "fifo.log")
    (logs / "dir.log").mkdir()
    good = logs / "good.log"
    good.write_text("")
    missing_dir = tmp_path / "not-yet"
    conf = config_xml([("syslog", f"{logs}/*.log"), ("syslog", f"{missing_dir}/x.log"),
                       ("syslog", "/proc/self/nonexistent/x.log")],
                      extra="<logcollector><scan_frequency>1</scan_frequency></logcollector>")
    a = agent_factory(conf).start()
    with open(good, "a") as f:
        f.write("ok\n")
    a.wait_records(lambda r: collected(r) >= 1)
    # A directory that appears later is found by the rescan; its file is read from the start.
    missing_dir.mkdir()
    (missing_dir / "x.log").write_text("late file\n")
    a.wait_records(lambda r: "late file" in [x["text"] for x in r], timeout=15)
    assert a.alive()
    a.stop()


def test_bad_configuration_is_reported_with_file_and_line(tmp_path):
    conf = tmp_path / "agent.conf"
    conf.write_text("<ossec_config>\n  <localfile>\n    <log_format>syslog</log_format>\n"
                    "    <locaton>/var/log/x</locaton>\n  </localfile>\n</ossec_config>\n")
    p = subprocess.run([agent_bin(), "-t", "-c", str(conf)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 1
    assert f"{conf}:4: error: <locaton>: unknown element in <localfile>" in err
    assert f"{conf}:2: error: <localfile>: missing <location>" in err
    conf.write_text("<ossec_config>\n<localfile>\n</ossec_config>\n")
    p = subprocess.run([agent_bin(), "-t", "-c", str(conf)], stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1 and f"{conf}:" in p.stderr.decode()


def test_mission_localfile_block_as_pasted(tmp_path):
    mission = "/work/shared/mission/agent-localfile.xml"
    shared = os.environ.get("TLD_SHARED")
    if shared:
        mission = os.path.join(shared, "mission", "agent-localfile.xml")
    block = open(mission).read() if os.path.exists(mission) else (
        "<localfile>\n  <log_format>syslog</log_format>\n"
        "  <location>/var/lib/docker/containers/*/*-json.log</location>\n</localfile>")
    conf = tmp_path / "ossec.conf"
    conf.write_text("<ossec_config>\n" + block + "\n</ossec_config>\n")
    p = subprocess.run([agent_bin(), "-t", "-c", str(conf)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    assert "1 localfile" in p.stdout.decode()
