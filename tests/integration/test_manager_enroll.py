"""tld-manager enrollment against real processes on 127.0.0.1: good and wrong passwords,
duplicate names, the per-address rate limit, the registry, own events, and `-t`."""
import os
import stat

from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset, write  # noqa: F401


def test_enrollment_password_duplicate_registry(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password="Sup3r-s3cret")
    m.start()
    good = tmp_path / "good.pass"
    good.write_text("Sup3r-s3cret\n")
    bad = tmp_path / "bad.pass"
    bad.write_text("guess\n")

    a1 = str(tmp_path / "a1")
    p = m.enroll(a1, "web-01", str(good))
    assert p.returncode == 0, p.stderr.decode()
    assert b"enrolled as agent 001 'web-01'" in p.stdout
    key = os.path.join(a1, "var/tls/agent.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    for f in ("agent.crt", "ca.crt"):
        assert os.path.getsize(os.path.join(a1, "var/tls", f)) > 0

    # Wrong password and no password: refused with the reason; no identity written.
    a2 = str(tmp_path / "a2")
    p = m.enroll(a2, "web-02", str(bad))
    assert p.returncode == 1
    assert b"bad password" in p.stderr
    p = m.enroll(a2, "web-02")
    assert p.returncode == 1 and b"bad password" in p.stderr
    assert not os.path.exists(os.path.join(a2, "var/tls/agent.crt"))

    # Duplicate name.
    p = m.enroll(a2, "web-01", str(good))
    assert p.returncode == 1
    assert b"duplicate agent name" in p.stderr

    # Invalid name (the client refuses before sending).
    p = m.enroll(a2, "bad name!", str(good))
    assert p.returncode == 1 and b"invalid agent name" in p.stderr

    p = m.enroll(a2, "web-02", str(good))
    assert p.returncode == 0 and b"agent 002" in p.stdout

    # The registry, as the CLI shows it.
    out = m.cli("agents", "list").stdout.decode()
    assert "001" in out and "web-01" in out and "never_connected" in out
    assert "002" in out and "web-02" in out

    # Own events for every outcome (a refusal repeated from one address within a minute is
    # counted, not reported again), and counters.
    wait_until(lambda: len(m.own_events("enrollment_refused")) >= 2 and
               len(m.own_events("agent_enrolled")) >= 2, 20, what="enrollment own events")
    reasons = [e["reason"] for e in m.own_events("enrollment_refused")]
    assert reasons.count("bad password") == 1 and "duplicate agent name" in reasons
    assert m.stats()["own_events"]["refusals_folded"] == 1
    enrolled = m.own_events("agent_enrolled")
    assert [e["agent"]["id"] for e in enrolled] == ["001", "002"]
    assert enrolled[0]["agent"]["ip"] == "127.0.0.1"
    st = wait_until(lambda: (s := m.stats()) and s["enrollment"]["enrolled"] == 2 and s, 10,
                    what="enrollment stats")
    assert st["enrollment"]["bad_password"] == 2
    assert "refused" in m.log_text() and "invalid enrollment password" in m.log_text()
    m.stop()

    # The registry is durable: after a restart the next id is 003.
    m.start()
    p = m.enroll(str(tmp_path / "a3"), "web-03", str(good))
    assert p.returncode == 0 and b"agent 003" in p.stdout
    m.stop()


def test_rate_limit_per_address(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")),
                        auth_extra="<rate_limit_requests>3</rate_limit_requests>"
                                   "<rate_limit_period>1h</rate_limit_period>")
    m.start()
    for i in range(3):
        p = m.enroll(str(tmp_path / f"r{i}"), f"rl-{i}")
        assert p.returncode == 0, p.stderr.decode()
    p = m.enroll(str(tmp_path / "r3"), "rl-3")
    assert p.returncode == 1
    assert b"too many requests" in p.stderr
    assert wait_until(lambda: (s := m.stats()) and s["enrollment"]["rate_limited"] == 1, 10,
                      what="rate_limited counter")
    m.stop()


def test_reenrollment_with_force_replaces_agent(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")),
                        auth_extra="<force><enabled>yes</enabled></force>")
    m.start()
    assert m.enroll(str(tmp_path / "x1"), "same").returncode == 0
    p = m.enroll(str(tmp_path / "x2"), "same")
    assert p.returncode == 0 and b"agent 002" in p.stdout
    out = m.cli("agents", "list").stdout.decode()
    assert "002" in out and "\n001 " not in out
    removed = m.wait_own("agent_removed")
    assert removed[0]["agent"]["id"] == "001" and removed[0]["replaced_by"] == "002"
    m.stop()


def test_config_check(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")))
    # First start installs the layout and the ruleset; -t then checks config and ruleset.
    m.start()
    m.stop()
    p = m.cli("-t")
    assert p.returncode == 0, p.stderr.decode()
    assert b"configuration OK" in p.stdout
    # An unknown element is an error with file:line and the element's name.
    conf = os.path.join(m.root, "etc/manager.conf")
    text = open(conf).read().replace("<alerts>", "<alerts><log_alert_levle>3</log_alert_levle>")
    write(conf, text)
    p = m.cli("-t")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert f"{conf}:" in err and "log_alert_levle" in err and "unknown element" in err
    # A broken local rule fails -t too (the ruleset is checked with the configuration).
    write(conf, m.config)
    write(os.path.join(m.root, "etc/rules/local_rules.xml"),
          '<group name="local,"><rule id="100001" level="3"><match>x</match>'
          '<bogus_option/></rule></group>\n')
    p = m.cli("-t")
    assert p.returncode == 1
    assert b"local_rules.xml:1" in p.stderr
