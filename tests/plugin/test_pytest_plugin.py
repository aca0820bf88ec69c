"""The pytest plugin, driven through pytester as its users drive it: the fixture comes from the
`pytest11` entry point (no conftest names it), sets the ai21 SDK's variables, resets between
tests, takes per-test settings, and is safe under pytest-xdist."""

from __future__ import annotations

import gc
import warnings

import pytest
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

SDK_TEST = """
from ai21 import AI21Client
from ai21.models.chat import ChatMessage

def ask(text, **fields):
    client = AI21Client()  # configured by AI21_API_HOST and AI21_API_KEY alone
    response = client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content=text)], **fields
    )
    return response.choices[0].message.content
"""


def run(pytester: pytest.Pytester, source: str, *args: str, subprocess: bool = False) -> pytest.RunResult:
    """Run a user's test file; in a fresh interpreter when `subprocess`, as a user's CI would."""
    pytester.makepyfile(test_user=SDK_TEST + source)
    # The user's own settings; `default` keeps this suite's warnings-as-errors out of the inner run
    # (the ai21 SDK never closes its httpx clients, which ResourceWarnings report).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = default\n")
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    result = runner("-p", "no:cacheprovider", *args)
    with warnings.catch_warnings():  # the inner run's unclosed SDK sockets, collected here: else a
        warnings.simplefilter("ignore", ResourceWarning)  # later test's collection reports them
        gc.collect()
    return result


def test_the_fixture_comes_from_the_entry_point_and_points_the_sdk_at_the_emulator(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
import os

def test_generated(jamba_emulator):
    assert os.environ["AI21_API_HOST"] == jamba_emulator.api_host
    assert jamba_emulator.api_host.startswith("http://127.0.0.1:")
    assert ask("Tell me something")
    (entry,) = jamba_emulator.requests
    assert (entry.path, entry.status) == ("/studio/v1/chat/completions", 200)
    assert entry.body["messages"] == [{"role": "user", "content": "Tell me something"}]
    assert dict(entry.headers)["Authorization"] == "Bearer [redacted]"
""",
        subprocess=True,  # a fresh interpreter: only the entry point can have loaded the plugin
    )
    result.assert_outcomes(passed=1)


def test_every_test_starts_fresh(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_first(jamba_emulator):
    jamba_emulator.reply("scripted")
    assert ask("hi") == "scripted"

def test_second(jamba_emulator):
    assert jamba_emulator.requests == [] and jamba_emulator.rules == []
    assert ask("hi") != "scripted"
    assert len(jamba_emulator.requests) == 1
""",
    )
    result.assert_outcomes(passed=2)


def test_scripting_replies_errors_faults_and_sequences(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest
from ai21.errors import AI21ServerError, ServiceUnavailable, TooManyRequestsError
from jamba_emulator.errors import FixtureError

def test_api(jamba_emulator):
    jamba_emulator.reply("About refunds.", match={"last_user": {"contains": "refund"}})
    jamba_emulator.error(503, "Upstream is down", match={"last_user": {"equals": "down"}}, times=1)
    jamba_emulator.sequence({"error": {"status": 429, "headers": {"Retry-After": "3"}}}, {"content": "ok"})
    assert ask("a refund, please") == "About refunds."
    with pytest.raises(ServiceUnavailable, match="Upstream is down"):
        ask("down")
    with pytest.raises(TooManyRequestsError):
        ask("anything")
    assert ask("anything") == "ok"
    assert [r.status for r in jamba_emulator.requests] == [200, 503, 429, 200]
    assert [r.rule for r in jamba_emulator.requests] == ["rule 1", "rule 2", "rule 3", "rule 3"]
    assert (jamba_emulator.rules[2]["name"], jamba_emulator.rules[2]["calls"]) == ("rule 3", 2)

def test_retries(jamba_emulator):
    jamba_emulator.sequence({"error": {"status": 500}}, {"error": {"status": 500}}, {"content": "third time"})
    from ai21 import AI21Client
    from ai21.models.chat import ChatMessage
    client = AI21Client(num_retries=3)  # three attempts in all
    response = client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content="hi")]
    )
    assert response.choices[0].message.content == "third time"
    assert [r.status for r in jamba_emulator.requests] == [500, 500, 200]

def test_fault(jamba_emulator):
    jamba_emulator.fault("drop_before_response", times=1)
    with pytest.raises(Exception):
        ask("hi")
    assert ask("hi")
    entries = [(r.status, r.fault) for r in jamba_emulator.requests]
    assert entries == [(None, "drop_before_response"), (200, None)]

def test_a_bad_rule_fails_at_once_naming_the_field(jamba_emulator):
    with pytest.raises(FixtureError, match="reply.error.status: 200 is less than the minimum of 400"):
        jamba_emulator.error(200)
""",
    )
    result.assert_outcomes(passed=4)


def test_per_test_settings_by_marker_and_by_config_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def jamba_emulator_config():
    return {"strict": True, "api_keys": ["folder-key"]}
"""
    )
    result = run(
        pytester,
        """
import os
import pytest
from ai21 import AI21Client
from ai21.errors import TooManyRequestsError, UnprocessableEntity
from ai21.models.chat import ChatMessage

def test_the_config_fixture(jamba_emulator):
    assert os.environ["AI21_API_KEY"] == "folder-key"
    assert jamba_emulator.config.strict
    client = AI21Client()
    two_users = [ChatMessage(role="user", content="hi"), ChatMessage(role="user", content="again")]
    with pytest.raises(UnprocessableEntity):  # strict: roles must alternate
        client.chat.completions.create(model="jamba-instruct-preview", messages=two_users)

@pytest.mark.jamba_emulator(rate_limit="2/s", strict=False)
def test_the_marker_wins(jamba_emulator):
    assert jamba_emulator.config.rate_limit == ((2, 1.0),) and not jamba_emulator.config.strict
    ask("one"), ask("two")
    with pytest.raises(TooManyRequestsError):
        ask("three")

@pytest.mark.jamba_emulator(unmatched="error", checks=False)  # it asks for the 404 on purpose
def test_unmatched(jamba_emulator):
    jamba_emulator.reply("only refunds", match={"last_user": {"contains": "refund"}})
    with pytest.raises(Exception, match="does not contain 'refund'"):
        ask("hi")
""",
    )
    result.assert_outcomes(passed=3)


def test_a_bad_setting_says_which_and_lists_the_settings(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

@pytest.mark.jamba_emulator(rate_limt="2/s")
def test_typo(jamba_emulator):
    pass

@pytest.mark.jamba_emulator(rate_limit="fast")
def test_bad_value(jamba_emulator):
    pass
""",
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.jamba_emulator: no setting 'rate_limt'; the settings are *rate_limit*",
            "*@pytest.mark.jamba_emulator: rate_limit must be windows such as 2/s,60/min*",
        ]
    )


def test_each_xdist_worker_runs_its_own_emulator(pytester: pytest.Pytester) -> None:
    tests = "\n".join(
        f"""
def test_{i}(jamba_emulator, worker_id):
    jamba_emulator.reply("from {i}")
    assert ask("hi") == "from {i}"
    assert len(jamba_emulator.requests) == 1
    with open("urls.txt", "a") as out:
        out.write(worker_id + " " + jamba_emulator.url + "\\n")
"""
        for i in range(8)
    )
    result = run(pytester, tests, "-n", "2", subprocess=True)
    result.assert_outcomes(passed=8)
    lines = (pytester.path / "urls.txt").read_text().split("\n")
    by_worker = {line.split()[0]: line.split()[1] for line in lines if line}
    assert len(by_worker) == 2 and len(set(by_worker.values())) == 2


def test_the_cloud_clients_reach_the_emulator_through_its_urls_and_opt_in_aws_environment(
    pytester: pytest.Pytester,
) -> None:
    """boto3 with no endpoint_url nor keys of its own, once `use_aws` set the environment; and
    only in that test: the next one sees the machine's AWS settings untouched."""
    result = run(
        pytester,
        """
import json, os
import boto3
from ai21 import AI21AzureClient, AI21BedrockClient, AI21VertexClient

ASKED = [ChatMessage(role="user", content="Tell me something")]

def test_aws(jamba_emulator, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")
    jamba_emulator.use_aws(monkeypatch)
    runtime = boto3.client("bedrock-runtime")
    hello = [{"role": "user", "content": [{"text": "hi"}]}]
    answer = runtime.converse(modelId="ai21.jamba-1-5-mini-v1:0", messages=hello)
    assert answer["output"]["message"]["content"][0]["text"]
    bedrock = AI21BedrockClient(base_url=jamba_emulator.bedrock_url, region="us-east-1")
    assert bedrock.chat.completions.create(model="ai21.jamba-1-5-mini-v1:0", messages=ASKED).choices
    vertex = AI21VertexClient(
        base_url=jamba_emulator.vertex_base_url, project_id="p", region="r", access_token="t"
    )
    assert vertex.chat.completions.create(model="jamba-1.5-mini", messages=ASKED).choices
    azure = AI21AzureClient(base_url=jamba_emulator.azure_base_url, api_key="k")
    assert azure.chat.completions.create(model="jamba-instruct", messages=ASKED).choices
    assert [entry.surface for entry in jamba_emulator.requests] == ["converse", "bedrock", "vertex", "azure"]

def test_not_opted_in(jamba_emulator):
    assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" not in os.environ
    assert os.environ.get("AWS_ACCESS_KEY_ID") != "AKIDJAMBAEMULATOR"
""",
    )
    result.assert_outcomes(passed=2)


CHECKED_TESTS = """
import pytest

def test_expected_twice_answered_once(jamba_emulator):
    jamba_emulator.reply("refunded", match={"last_user": {"contains": "refund"}}, expect=2)
    assert ask("a refund please") == "refunded"

def test_a_sequence_left_half_used(jamba_emulator):
    jamba_emulator.sequence({"error": {"status": 503}}, {"content": "back"}, {"content": "again"})
    with pytest.raises(Exception):
        ask("hi")
    assert ask("hi") == "back"

@pytest.mark.jamba_emulator(unmatched="error")
def test_a_request_no_rule_answers(jamba_emulator):
    jamba_emulator.reply("refunded", match={"last_user": {"contains": "refund"}})
    with pytest.raises(Exception):
        ask("where is my parcel?")

def test_expectations_met(jamba_emulator):
    jamba_emulator.reply("refunded", expect=1)
    jamba_emulator.reply("never", match={"model": "jamba-large"}, expect=0)
    jamba_emulator.sequence({"content": "one"}, match={"last_user": {"equals": "seq"}})
    assert ask("a refund") == "refunded"
    assert ask("seq") != "one"  # the first rule answers it: expect=1 is now exceeded
"""


def test_unmet_expectations_fail_the_test_with_a_report_naming_rules_and_requests(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, CHECKED_TESTS)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines_random(
        [
            "*what the test expected did not happen:*",
            "*rule 'rule 1' was expected to answer 2 times: it answered 1 time",
            "*sequence 'rule 1' answered 2 of its 3 replies",
            "*request #* (POST /studio/v1/chat/completions, last message (user) 'where is my parcel?')"
            " matched no rule",
            "*rule 'rule 1' was expected to answer 1 time: it answered 2 times",
            "*sequence 'rule 3' answered 0 of its 1 replies",
        ]
    )
    assert "rule 'rule 2'" not in result.stdout.str()  # expect=0, never answered: met


def test_the_checks_can_be_turned_off_per_test(pytester: pytest.Pytester) -> None:
    unchecked = CHECKED_TESTS.replace("def test_", "@pytest.mark.jamba_emulator(checks=False)\ndef test_")
    unchecked = unchecked.replace(
        '@pytest.mark.jamba_emulator(checks=False)\n@pytest.mark.jamba_emulator(unmatched="error")',
        '@pytest.mark.jamba_emulator(unmatched="error", checks=False)',
    )
    result = run(pytester, unchecked)
    result.assert_outcomes(passed=4)


ATTACHED_TESTS = """
import os
from ai21 import AI21Client

def ask_in(emulator, text):
    client = AI21Client(headers=emulator.headers)  # the test's scope, by header
    response = client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content=text)]
    )
    return response.choices[0].message.content
"""


def test_the_plugin_attaches_to_a_running_server_and_scopes_each_test_across_xdist_workers(
    pytester: pytest.Pytester,
) -> None:
    tests = ATTACHED_TESTS + "\n".join(
        f"""
def test_{i}(jamba_emulator, worker_id):
    assert jamba_emulator.scope.endswith("test_{i}")
    jamba_emulator.sequence({{"content": "first {i}"}}, {{"content": "second {i}"}})
    assert ask_in(jamba_emulator, "hi") == "first {i}"
    assert ask_in(jamba_emulator, "hi") == "second {i}"
    assert [entry.rule for entry in jamba_emulator.requests] == ["rule 1", "rule 1"]
    assert {{entry.scope for entry in jamba_emulator.requests}} == {{jamba_emulator.scope}}
    assert os.environ["AI21_API_HOST"].startswith(os.environ["JAMBA_EMULATOR_URL"])
    with open("workers.txt", "a") as out:
        out.write(worker_id + "\\n")
"""
        for i in range(8)
    )
    with BackgroundServer(Config(port=0)) as server:
        pytester._monkeypatch.setenv("JAMBA_EMULATOR_URL", server.url)
        result = run(pytester, tests, "-n", "2", subprocess=True)
        assert server.core is not None
        journal, left = server.core.journal.entries(), server.core.script.described()
    result.assert_outcomes(passed=8)
    assert len(set((pytester.path / "workers.txt").read_text().split())) == 2
    assert journal == [] and left == []  # each test's journal entries and rules went with it


def test_an_attached_plugin_refuses_settings_it_cannot_apply(pytester: pytest.Pytester) -> None:
    with BackgroundServer(Config(port=0)) as server:
        result = run(
            pytester,
            """
import pytest

@pytest.mark.jamba_emulator(strict=True)
def test_strict(jamba_emulator):
    pass
""",
            "--jamba-emulator-url",
            server.url,
        )
    result.assert_outcomes(errors=1)
    assert "settings ['strict'] cannot be applied to the emulator attached at" in result.stdout.str()


def test_an_exception_in_a_reply_callable_is_raised_in_the_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

def test_broken_callable(jamba_emulator):
    def lookup(request):
        return {"shipped": "On its way"}[request.messages[-1].content]

    jamba_emulator.reply(lookup)
    with pytest.raises(Exception):  # the client sees a 500...
        ask("lost")
    # ...and the test, once its body is done, the KeyError itself

def test_working_callable(jamba_emulator):
    jamba_emulator.reply(lambda request: "echo: " + request.messages[-1].content, expect=1)
    assert ask("hi") == "echo: hi"
""",
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'lost'*"])


def test_the_resilience_report_is_shown_and_can_fail_a_test(pytester: pytest.Pytester) -> None:
    source = """
def test_sdk_retries(jamba_emulator):
    jamba_emulator.error(429, headers={"Retry-After": "3"}, times=1)
    client = AI21Client(num_retries=2)  # waits about 1 s: Retry-After is not read
    client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content="hi")]
    )

def test_quiet(jamba_emulator):
    assert ask("hi")
"""
    source = "from ai21 import AI21Client\n" + source
    shown = run(pytester, source, "--jamba-emulator-report")
    shown.assert_outcomes(passed=2)
    shown.stdout.fnmatch_lines(
        ["*jamba-emulator resilience*", "*test_sdk_retries: resilience report: 2 requests, 1 failed*",
         "*FAILED   retry_after_ignored*"]
    )  # fmt: skip
    assert "test_quiet: resilience" not in shown.stdout.str()
    gated = run(pytester, source, "--jamba-emulator-fail-on", "retry_after_ignored")
    gated.assert_outcomes(passed=1, failed=1)
    gated.stdout.fnmatch_lines(["*the client failed retry_after_ignored*"])


def test_the_plugin_loads_in_a_project_with_its_own_emulator_package(pytester: pytest.Pytester) -> None:
    """A user's project with a package called `emulator` (the name this package once imported as):
    the plugin still loads from the entry point, and the user's package is the one imported."""
    pytester.mkpydir("emulator")
    pytester.path.joinpath("emulator", "__init__.py").write_text("WHOSE = 'the user'\n")
    result = run(
        pytester,
        """
import emulator

def test_both(jamba_emulator):
    assert emulator.WHOSE == "the user"
    assert ask("Tell me something")
""",
        "--rootdir",
        str(pytester.path),
        subprocess=True,
    )
    result.assert_outcomes(passed=1)


def test_vllm_env_points_an_unconfigured_openai_client_and_litellm_at_the_vllm_surface(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
import os
import pytest

MODEL = "ai21labs/AI21-Jamba-1.5-Mini"

@pytest.mark.jamba_emulator(vllm_env=True)
def test_openai_and_litellm(jamba_emulator):
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm
    from openai import OpenAI

    jamba_emulator.reply("From the emulator.")
    assert os.environ["OPENAI_BASE_URL"] == jamba_emulator.vllm_base_url == jamba_emulator.url + "/v1"
    with OpenAI() as client:  # OPENAI_BASE_URL and OPENAI_API_KEY alone
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "From the emulator."
    routed = litellm.completion(model=f"hosted_vllm/{MODEL}", messages=[{"role": "user", "content": "hi"}])
    assert routed.choices[0].message.content == "From the emulator."
    assert [(e.surface, e.rule) for e in jamba_emulator.requests] == [("vllm", "rule 1")] * 2

def test_not_without_asking(jamba_emulator):
    assert os.environ.get("OPENAI_BASE_URL") != jamba_emulator.vllm_base_url
""",
    )
    result.assert_outcomes(passed=2)
