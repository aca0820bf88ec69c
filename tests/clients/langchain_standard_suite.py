"""LangChain's standard chat-model tests (`ChatModelIntegrationTests` of langchain-tests 0.3, the
version of langchain-ai21's langchain-core), for ChatAI21 against the emulator that AI21_API_URL
names. Run by `.venv-langchain`'s pytest (tests/clients/test_langchain_standard.py), not by the
main suite.

The expected failures are what LangChain's adapter itself cannot do, as upstream's own
test_standard.py marks them (in our words): ChatAI21 reads only `content` from a stream, so a
streamed tool call (and the structured output built on one) is dropped; it sets no usage on its
messages, nor a model name on a stream's. They are strict: if the adapter learns, they fail.
"""

from __future__ import annotations

import pytest
from langchain_ai21 import ChatAI21
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

ADAPTER_DROPS_STREAMED_CALLS = pytest.mark.xfail(
    strict=True, reason="ChatAI21's stream reads only content: the streamed tool call is dropped"
)


class TestChatAI21OnTheEmulator(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatAI21

    @property
    def chat_model_params(self) -> dict:
        return {"model": "jamba-mini"}

    @property
    def tool_choice_value(self) -> str | None:
        """As upstream configures Jamba: `any`. (The service ignored tool_choice, so the test that
        forces a named tool stays skipped, as upstream's.)"""
        return "any"

    @pytest.mark.xfail(strict=True, reason="ChatAI21 puts no usage_metadata on its messages")
    def test_usage_metadata(self, model: BaseChatModel) -> None:
        super().test_usage_metadata(model)

    @pytest.mark.xfail(strict=True, reason="ChatAI21's stream sets no model_name in response_metadata")
    def test_usage_metadata_streaming(self, model: BaseChatModel) -> None:
        super().test_usage_metadata_streaming(model)

    @ADAPTER_DROPS_STREAMED_CALLS
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @ADAPTER_DROPS_STREAMED_CALLS
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @ADAPTER_DROPS_STREAMED_CALLS
    def test_tool_calling_with_no_arguments(self, model: BaseChatModel) -> None:
        super().test_tool_calling_with_no_arguments(model)

    @ADAPTER_DROPS_STREAMED_CALLS
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(self, model: BaseChatModel, schema_type: str) -> None:
        super().test_structured_output(model, schema_type)

    @ADAPTER_DROPS_STREAMED_CALLS
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: str) -> None:
        await super().test_structured_output_async(model, schema_type)

    @ADAPTER_DROPS_STREAMED_CALLS
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)
