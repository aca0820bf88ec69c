"""schemathesis, run as its own CLI against the served /openapi.json of a running emulator:
every documented operation, positive and negative cases, every check it has.

Sized for CI by the hypothesis profile: 100 cases per operation and phase in `ci` (deterministic),
2,000 in `fuzz`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from emulator.config import Config
from emulator.server import BackgroundServer

KEY = "schemathesis-key"


def test_schemathesis_finds_nothing_against_the_served_openapi_document(tmp_path: Path) -> None:
    fuzzing = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
    # With keys configured, a wrong key gets 401, which schemathesis's auth checks expect.
    with BackgroundServer(Config(port=0, api_keys=(KEY,), log_level="error")) as server:
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
            "--header", f"Authorization: Bearer {KEY}",
            # Rules it added would answer its later requests with the errors they script
            # (a scripted 500 is no server bug); tests/integration/test_admin.py covers it.
            "--exclude-operation-id", "addRules",
            # A tool message's tool_call_id must answer an earlier call: a rule JSON Schema cannot
            # state, so a schema-valid request may rightly get a 422 (value_error.tool_call_id).
            # The conformance cases cover that rule; this check is off until a generation hook
            # keeps tool messages consistent (issue 6, left for its next step).
            "--exclude-checks", "positive_data_acceptance",
            "--max-examples", "2000" if fuzzing else "100",
            # CI: a fixed seed and deterministic generation; fuzzing: a new seed every run.
            *([] if fuzzing else ["--seed", "2104", "--generation-deterministic"]),
        ]  # fmt: skip
        run = subprocess.run(command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated, report
    assert int(generated.group(1)) >= 50 and generated.group(1) == generated.group(2), report
    seed = re.search(r"Seed: (\d+)", report)
    print(generated.group(0), seed.group(0) if seed else "")
