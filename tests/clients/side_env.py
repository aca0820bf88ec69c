"""Test environments beside the main one, for clients whose pins clash with it, or that are not
Python at all.

`langchain-ai21` pins `ai21<4` while the main environment tests `ai21` 4.x, so LangChain runs in
`.venv-langchain` next to `.venv`: its own interpreter, driven as a subprocess against an
emulator the main test process serves. The TypeScript SDK (`ai21` on npm) runs under Node from
`.node-ai21/`. The first use creates each (pip or npm, from the package registry); later uses
find it ready by its stamp, which records what was installed.

Standard library only, so `.ci/run` can prepare them before the tests:

    python3 tests/clients/side_env.py langchain node:ai21
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REQUIREMENTS = {
    # ChatAI21 (langchain-ai21 1.x) and, through it, ai21 3.x and langchain-core 0.3; the
    # standard chat-model tests of that langchain-core (langchain-tests 0.3), run by its pytest.
    "langchain": ["langchain-ai21>=1.2,<2", "langchain-tests>=0.3,<0.4", "pytest-asyncio"],
}
NODE_REQUIREMENTS = {
    # The TypeScript SDK's newest release; its package imports form-data without declaring it.
    "ai21": ["ai21@1.1.0", "form-data@4"],
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


def node(name: str) -> Path:
    """The folder whose node_modules holds environment `name`'s packages, installed first."""
    home = ROOT / f".node-{name}"
    stamp = home / "jamba-emulator-stamp"
    wanted = "\n".join(NODE_REQUIREMENTS[name]) + "\n"
    npm = shutil.which("npm")
    if npm is None:
        raise SideEnvError(f"npm is not installed: the {name!r} environment needs Node.js and npm")
    with open(ROOT / f".node-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return home
        home.mkdir(exist_ok=True)
        (home / "package.json").write_text('{"name": "jamba-emulator-side-env", "private": true}\n')
        command = [npm, "install", "--no-audit", "--no-fund", "--silent", *NODE_REQUIREMENTS[name]]
        done = subprocess.run(command, cwd=home, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SideEnvError(
                f"could not npm install {' '.join(NODE_REQUIREMENTS[name])} into {home} "
                f"(exit {done.returncode}):\n{done.stderr[-3000:]}\nIt needs the npm registry once; run "
                f"`python3 tests/clients/side_env.py node:{name}` when it is reachable."
            )
        stamp.write_text(wanted)
    return home


def _stamp(name: str) -> str:
    what = "\n".join([sys.version, *REQUIREMENTS[name]])
    return hashlib.sha256(what.encode()).hexdigest() + "\n" + what + "\n"


if __name__ == "__main__":
    for env_name in sys.argv[1:] or [*REQUIREMENTS, *(f"node:{name}" for name in NODE_REQUIREMENTS)]:
        if env_name.startswith("node:"):
            print(f"{env_name}: {node(env_name.removeprefix('node:'))}")
        else:
            print(f"{env_name}: {python(env_name)}")
