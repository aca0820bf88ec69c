"""Test environments beside the main one, for clients whose pins clash with it.

`langchain-ai21` pins `ai21<4` while the main environment tests `ai21` 4.x, so LangChain runs in
`.venv-langchain` next to `.venv`: its own interpreter, driven as a subprocess against an
emulator the main test process serves. The first use creates it (pip, from the package
registry); later uses find it ready by its stamp, which records what was installed.

Standard library only, so `.ci/run` can prepare it before the tests:

    python3 tests/clients/side_env.py langchain
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REQUIREMENTS = {
    # ChatAI21 (langchain-ai21 1.x) and, through it, ai21 3.x and langchain-core.
    "langchain": ["langchain-ai21>=1.2,<2"],
}


class SideEnvError(RuntimeError):
    """The environment could not be made; the message says why and what to do."""


def path(name: str) -> Path:
    return ROOT / f".venv-{name}"


def python(name: str) -> Path:
    """The interpreter of environment `name`, made (or remade, if its requirements changed) first."""
    home = path(name)
    stamp = home / "jamba-emulator-stamp"
    wanted = _stamp(name)
    interpreter = home / "bin" / "python"
    with open(ROOT / f".venv-{name}.lock", "w") as lock:  # pytest-xdist workers take turns
        fcntl.flock(lock, fcntl.LOCK_EX)
        if interpreter.exists() and stamp.exists() and stamp.read_text() == wanted:
            return interpreter
        venv.EnvBuilder(clear=True, with_pip=True).create(home)
        command = [str(interpreter), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        done = subprocess.run([*command, *REQUIREMENTS[name]], check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SideEnvError(
                f"could not install {' '.join(REQUIREMENTS[name])} into {home} "
                f"(pip exit {done.returncode}):\n"
                f"{done.stderr[-3000:]}\nIt needs the package registry once; run "
                f"`python3 tests/clients/side_env.py {name}` when it is reachable."
            )
        stamp.write_text(wanted)
    return interpreter


def _stamp(name: str) -> str:
    what = "\n".join([sys.version, *REQUIREMENTS[name]])
    return hashlib.sha256(what.encode()).hexdigest() + "\n" + what + "\n"


if __name__ == "__main__":
    for env_name in sys.argv[1:] or list(REQUIREMENTS):
        print(f"{env_name}: {python(env_name)}")
