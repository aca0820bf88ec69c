"""Every Python snippet in the README runs, unmodified."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jamba_emulator.script.fixtures import rules_from

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_snippets() -> None:
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet-{i}" for i in range(len(SNIPPETS))])
def test_readme_snippet_runs(snippet: str, tmp_path: Path) -> None:
    # In a fresh interpreter, as a user would run it; a `# test_NAME.py` snippet with pytest.
    test_file = re.match(r"# (test_\w+\.py)\n", snippet)
    if test_file:
        (tmp_path / test_file.group(1)).write_text(snippet)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "default"]
        command += ["-o", "asyncio_default_fixture_loop_scope=function", test_file.group(1)]
    else:
        command = [sys.executable, "-c", snippet]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


FIXTURE_EXAMPLES = [block for block in re.findall(r"```json\n(.*?)```", README, re.S) if '"rules"' in block]


def test_readme_fixture_examples_are_valid_fixture_files() -> None:
    assert FIXTURE_EXAMPLES
    for block in FIXTURE_EXAMPLES:
        assert rules_from(json.loads(block), "README")
