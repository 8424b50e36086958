"""Every ```python block of clients/python/README.md and of the root
README.md (except those marked ``notest``) runs as written, each in a fresh interpreter, against this
build's sonod: the docs cannot rot."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
READMES = {"python": os.path.join(HERE, "..", "README.md"),
           "root": os.path.join(HERE, "..", "..", "..", "README.md")}


def blocks():
    out = []
    for name, path in READMES.items():
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^```python([^\n]*)\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            if "notest" not in m.group(1).split():
                out.append(pytest.param(m.group(2), id=f"{name}-line{line}"))
    return out


def test_readme_has_examples():
    assert len(blocks()) >= 6


@pytest.mark.parametrize("code", blocks())
def test_readme_example(code, sonod, tmp_path):
    env = dict(os.environ, SONOD=sonod, PYTHONPATH=os.path.join(HERE, ".."))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
