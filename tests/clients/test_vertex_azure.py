"""Google Vertex and Azure AI Foundry, served to the ai21 SDK's own clients unmodified:
`AI21VertexClient` (base_url .../v1, a project, a region, an access token) and `AI21AzureClient`
(base_url at the server's root, an api-key), plain and streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from ai21 import AI21AzureClient, AI21VertexClient
from ai21.errors import AI21APIError
from ai21.models.chat import ChatMessage
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

ASKED = "Tell me something I don't know"
MESSAGES = [ChatMessage(role="user", content=ASKED)]

pytestmark = pytest.mark.clients


@pytest.fixture
def azure(emulator: BackgroundServer) -> Iterator[Callable[[str], AI21AzureClient]]:
    """AI21AzureClient takes no httpx client of ours, and never closes its own: closed here."""
    made: list[AI21AzureClient] = []

    def make(base_url: str) -> AI21AzureClient:
        made.append(AI21AzureClient(base_url=base_url, api_key="azure-key"))
        return made[-1]

    yield make
    for client in made:
        client._client.close()


def vertex(server: BackgroundServer, http: httpx.Client, version: str = "v1") -> AI21VertexClient:
    return AI21VertexClient(
        base_url=f"{server.url}/{version}",
        project_id="my-project",
        region="europe-west4",
        access_token="token",
        http_client=http,
    )


def studio_answer(server: BackgroundServer, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": ASKED}], "max_tokens": 50}
    return httpx.post(server.api_host + "/chat/completions", json=body, headers={"Authorization": "Bearer k"})


@pytest.mark.parametrize("version", ["v1", "v1beta1"])  # v1beta1: litellm's vertex_ai/ route's path
@pytest.mark.parametrize("name", ["jamba-1.5-mini", "jamba-1.5-mini@001"])
def test_vertex_plain_and_streamed_are_the_studio_answer(
    emulator: BackgroundServer, http: httpx.Client, name: str, version: str
) -> None:
    client = vertex(emulator, http, version)
    plain = client.chat.completions.create(model=name, messages=MESSAGES, max_tokens=50)
    chunks = list(client.chat.completions.create(model=name, messages=MESSAGES, max_tokens=50, stream=True))
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain.choices[0].message.content
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == plain.usage.total_tokens
    assert emulator.core is not None
    entry = emulator.core.journal.entries()[-1]
    assert entry.path.startswith(f"/{version}/projects/")
    assert entry.path.endswith(f"/publishers/ai21/models/{name}:streamRawPredict")
    assert dict(entry.headers)["Authorization"] == "Bearer [redacted]"
    studio = studio_answer(emulator, "jamba-1.5-mini").json()
    assert plain.choices[0].message.content == studio["choices"][0]["message"]["content"]


def test_vertex_refuses_a_model_it_does_not_serve(emulator: BackgroundServer, http: httpx.Client) -> None:
    with pytest.raises(AI21APIError) as caught:
        vertex(emulator, http).chat.completions.create(model="jamba-large", messages=MESSAGES)
    assert caught.value.status_code == 422


def test_vertex_needs_a_token(emulator: BackgroundServer) -> None:
    path = "/v1/projects/p/locations/r/publishers/ai21/models/jamba-1.5-mini:rawPredict"
    answer = httpx.post(emulator.url + path, json={"messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 401


def test_azure_plain_and_streamed_with_a_deployment_name(emulator: BackgroundServer, azure: Any) -> None:
    client = azure(emulator.url)
    plain = client.chat.completions.create(model="jamba-instruct", messages=MESSAGES, max_tokens=50)
    chunks = list(
        client.chat.completions.create(model="jamba-instruct", messages=MESSAGES, max_tokens=50, stream=True)
    )
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain.choices[0].message.content
    )
    assert emulator.core is not None
    assert emulator.core.journal.entries()[-1].path == "/v1/chat/completions"
    studio = studio_answer(emulator, "jamba-instruct-preview").json()
    assert plain.choices[0].message.content == studio["choices"][0]["message"]["content"]


def test_azure_names_do_not_reach_the_studio_api(emulator: BackgroundServer) -> None:
    """`jamba-instruct` is an Azure deployment name: the Studio API still answers it with the
    real service's unsupported-model 422."""
    refused = studio_answer(emulator, "jamba-instruct")
    assert refused.status_code == 422 and isinstance(refused.json()["detail"], str)


def test_azure_through_a_base_url_ending_in_studio_still_works(
    emulator: BackgroundServer, azure: Any
) -> None:
    client = azure(emulator.url + "/studio")
    assert client.chat.completions.create(model="jamba-mini", messages=MESSAGES, max_tokens=20).choices


def test_azure_takes_the_api_key_header_alone_and_without_it_vllm_answers(emulator: BackgroundServer) -> None:
    """/v1/chat/completions is Azure's when `api-key` is sent, vLLM's otherwise (which knows no
    Azure deployment name: its 404)."""
    body = {"model": "jamba-instruct", "messages": [{"role": "user", "content": "hi"}]}
    url = emulator.url + "/v1/chat/completions"
    assert httpx.post(url, json=body, headers={"api-key": "k"}).status_code == 200
    assert httpx.post(url, json=body, headers={"api-key": ""}).status_code == 401
    vllm = httpx.post(url, json=body)
    assert vllm.status_code == 404
    assert vllm.json()["error"]["message"] == "The model `jamba-instruct` does not exist."


def test_with_keys_configured_a_wrong_api_key_is_refused_whatever_bearer_says() -> None:
    body = {"model": "jamba-instruct", "messages": [{"role": "user", "content": "hi"}]}
    with BackgroundServer(Config(port=0, api_keys=("right",))) as server:
        url = server.url + "/v1/chat/completions"
        assert httpx.post(url, json=body, headers={"api-key": "right"}).status_code == 200
        bearer_only = httpx.post(url, json=body, headers={"Authorization": "Bearer right"})
        assert bearer_only.status_code == 404  # vLLM's: it serves no Azure deployment name
        both = {"api-key": "wrong", "Authorization": "Bearer right"}
        assert httpx.post(url, json=body, headers=both).status_code == 401
        assert (
            httpx.post(url, json=body, headers={"api-key": "", "Authorization": "Bearer right"}).status_code
            == 401
        )


def test_launchpad_endpoints_plain_and_streamed_are_jamba_1_6_large(
    emulator: BackgroundServer, http: httpx.Client
) -> None:
    """AI21LaunchpadClient posts to .../endpoints/{endpoint_id}:rawPredict (:streamRawPredict) with
    the model left out of the body: the endpoint runs jamba-1.6-large, as the SDK's examples."""
    from ai21 import AI21LaunchpadClient  # noqa: PLC0415

    client = AI21LaunchpadClient(
        base_url=emulator.url + "/v1",
        project_id="my-project",
        region="us-central1",
        endpoint_id="1234567890",
        access_token="token",
        http_client=http,
    )
    plain = client.chat.completions.create(model="jamba-1.6-large", messages=MESSAGES, max_tokens=50)
    chunks = list(
        client.chat.completions.create(model="jamba-1.6-large", messages=MESSAGES, max_tokens=50, stream=True)
    )
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain.choices[0].message.content
    )
    assert emulator.core is not None
    entry = emulator.core.journal.entries()[-1]
    assert (entry.surface, entry.status) == ("launchpad", 200)
    assert entry.path == "/v1/projects/my-project/locations/us-central1/endpoints/1234567890:streamRawPredict"
    studio = studio_answer(emulator, "jamba-1.6-large").json()
    assert plain.choices[0].message.content == studio["choices"][0]["message"]["content"]
