"""pytest fixtures for the agent's integration tests.

- `agent_factory`: makes Agent objects (agentlib.py) in the test's tmp dir; stops them all at
  the end of the test.
- `docker_env`: a private dockerd for the session (tld_docker_env.py), started when the first
  test needs it and stopped at the end of the session if the session started it. When dockerd
  truly cannot run here, the tests that need it are skipped with the reason.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import agentlib  # noqa: E402
from tld_docker_env import DockerEnv, DockerUnavailable  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def agent_binary():
    path = agentlib.agent_bin()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it first (make asan)")
    return path


@pytest.fixture
def agent_factory(tmp_path):
    made = []

    def make(config, name="agent", output="out.jsonl"):
        a = agentlib.Agent(tmp_path, config, name=name, output=output)
        made.append(a)
        return a

    yield make
    for a in made:
        a.cleanup()


_env = None
_env_error = None


@pytest.fixture(scope="session")
def docker_env():
    global _env, _env_error
    if _env_error:
        pytest.skip(_env_error)
    if _env is None:
        env = DockerEnv()
        try:
            env.start()
            env.ensure_images()
        except DockerUnavailable as e:
            _env_error = f"no Docker engine can run here: {e}"
            pytest.skip(_env_error)
        _env = env
    yield _env


def pytest_sessionfinish(session, exitstatus):
    if _env is not None and _env.started_here:
        _env.stop()
