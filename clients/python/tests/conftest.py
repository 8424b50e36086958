"""Fixtures: a private offline sonod from this build (``--sonod PATH``, as
meson passes it, else $SONOD, else the PATH)."""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sono import Daemon  # noqa: E402

AMSYNTH = "/usr/lib/vst/amsynth_vst.so"


def pytest_addoption(parser):
    parser.addoption("--sonod", default=None, help="the sonod binary to test against")


@pytest.fixture(scope="session")
def sonod(request):
    path = request.config.getoption("--sonod") or os.environ.get("SONOD") or shutil.which("sonod")
    if not path:
        pytest.skip("no sonod: pass --sonod PATH")
    return path


@pytest.fixture
def daemon(sonod):
    """An offline daemon at 44100 Hz, 512-frame blocks; its exit status
    must be 0 when the test is done."""
    d = Daemon.offline(sr=44100, block=512, sonod=sonod, timeout=60)
    yield d
    d.close()
    assert d.exit_status == 0, "sonod exited with %r" % d.exit_status


@pytest.fixture
def amsynth():
    if not os.path.exists(AMSYNTH):
        pytest.skip("amsynth is not installed (scripts/setup.sh installs it)")
    return AMSYNTH



@pytest.fixture
def live(sonod, tmp_path):
    """A sonod on the null backend (its clock runs in real time), started
    by hand as a user's would be, and a connection to it."""
    import subprocess
    import time
    sock = tmp_path / "sonod.sock"
    env = dict(os.environ)
    env.pop("STATE_DIRECTORY", None)
    with open(tmp_path / "sonod.log", "wb") as log:
        proc = subprocess.Popen([sonod, "--backend", "null", "--socket", str(sock), "--no-config",
                                 "--sample-rate", "48000", "--block-size", "256"],
                                stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                d = Daemon.connect(str(sock), timeout=30)
                d.test_socket = str(sock)
                break
            except Exception:
                assert proc.poll() is None, (tmp_path / "sonod.log").read_text()
                assert time.monotonic() < deadline, "sonod did not start"
                time.sleep(0.02)
        yield d
        d.shutdown()
        d.close()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
