#!/usr/bin/env bash
# `make run` (after the build): tld-manager in the foreground with a self-contained installation
# root under ./run/ (created on the first start: configuration, CA, the shipped ruleset copied
# from ./ruleset). The manager watches this host as agent 000 -- the local Docker engine when
# one answers, and the containers' json-file logs -- and accepts remote agents on 1514/1515.
# The HTTPS API (tld-api, docs/api.md) starts beside it on 127.0.0.1:55000 once the root exists.
# Ctrl-C stops both cleanly. TLD_RUN_ROOT chooses another root.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${TLD_RUN_ROOT:-$PWD/run}"
bin="$PWD/build/bin"
export TLD_RULESET_SRC="${TLD_RULESET_SRC:-$PWD/ruleset}"

first=no
[[ -f "$root/etc/manager.conf" ]] || first=yes

docker_state="not answering on /var/run/docker.sock (the manager keeps retrying)"
if command -v curl >/dev/null 2>&1 &&
    curl -s --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping 2>/dev/null |
    grep -q OK; then
    docker_state="answering: its events and container logs are monitored"
fi

# Validate before starting, so a broken configuration is reported plainly.
if [[ $first == no ]] && ! "$bin/tld-manager" -r "$root" -t >/dev/null; then
    echo "run: $root/etc/manager.conf or the ruleset has errors (see above)" >&2
    exit 1
fi

host=$(hostname -f 2>/dev/null || hostname)
cat >&2 <<INFO
ThreatLockDown manager
  installation root   $root$([[ $first == yes ]] && echo "  (created now)")
  configuration       $root/etc/manager.conf
  your rules          $root/etc/rules/local_rules.xml, $root/etc/decoders/local_decoder.xml
  alerts              $root/logs/alerts/alerts.json   (tail -f it to watch)
  local Docker engine $docker_state

  search alerts       $bin/tld-manager -r $root search 'rule.id:(87903)' --since 1h
  HTTPS API           https://127.0.0.1:55000/  (log: $root/logs/api.log; CA: $root/var/ca/ca.crt)
                      user admin, its generated password in $root/etc/api/admin.password
  dashboard           https://127.0.0.1:55000/app/  (same user; built by make when npm is there)

Enroll a remote agent (on the agent's host, from a build of this repository there), with the
enrollment password the manager generated at its first start (kept in $root/etc/authd.pass,
mode 0600; copy it to the agent's host):
  build/bin/tld-agent enroll --manager $host:1515 --name NAME --password-file FILE
then give the agent a manager in its configuration and start it:
  <client><server><address>$host</address></server></client>

Ctrl-C stops the manager and the API.
INFO
# The API reads the manager's configuration: start it once the first start has written it. It is
# in this process group, so Ctrl-C reaches it too; it is stopped when the manager ends anyway.
(
    for _ in $(seq 1 300); do
        [[ -f "$root/etc/manager.conf" && -f "$root/var/ca/ca.crt" ]] && break
        sleep 0.2
    done
    exec "$bin/tld-api" -r "$root" -l "$root/logs/api.log"
) &
api_pid=$!
rc=0
"$bin/tld-manager" -r "$root" -l - || rc=$?
kill "$api_pid" 2>/dev/null || true
wait "$api_pid" 2>/dev/null || true
exit "$rc"
