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

