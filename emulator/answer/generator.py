"""Pure completion generation: a validated request and the server seed in, a completion out.

The answer text depends only on the request's meaning (model, the messages that count,
temperature, top_p, the choice's index) and the seed; never on `max_tokens`, `stop` or
`stream`. Those only cut the answer, so a truncated answer is a prefix of the full one and a
stream joins into exactly the non-streamed text.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import replace
from operator import itemgetter

import orjson

from ..chat.budget import Budget
from ..chat.cache import SizedCache
from ..chat.completion import Asked, Choice, Completion, FinishReason, ToolCall
from ..chat.request import ChatRequest, Message, Tool
from ..chat.tokenizer import Tokenizer
from .grounding import Facts, facts_of, grounded, prompt_schema, quote, results_answer, tool_words
from .sentences import SentenceBank, write_sentence
from .structured import arguments as structured_arguments
from .structured import asked_keys, json_answer
from .wordpool import WordPool

# Answer length in words: log-normal around a median of ~55 words (~70 tokens), so most
# answers run from tens to a few hundred tokens, with a rare long one.
_MEDIAN_WORDS, _SIGMA, _MIN_WORDS, _MAX_WORDS = 55, 0.75, 6, 600
# Unless the user asks for a length ("in 50 words", "a 2,000-word essay"): then it is written
# from a tenth under it to a sentence over, as a model roughly keeps to one, up to ASKED_WORDS
# (~3,700 tokens, near every model's max_tokens of 4,096).
ASKED_WORDS = 3000
_ASKED_LENGTH = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d{1,6})(?:\s+|-)words?\b", re.IGNORECASE | re.ASCII)


def seed_for(request: ChatRequest, index: int, server_seed: int) -> int:
    """A stable 64-bit seed from the request's meaning (never Python's salted hash())."""
    return _seed(server_seed, _meaning(request, index))


Meaning = tuple[str, tuple[Message, ...], float, float, int]
Written = tuple[str, tuple[str, ...]]
"""An answer's text and its tokens."""


def _meaning(request: ChatRequest, index: int) -> Meaning:
    """What an answer depends on (with the server's seed): model, messages, temperature, top_p and
    the choice's index. Hashable: the key of Generator's answer cache."""
    return request.model, request.messages, float(request.temperature), float(request.top_p), index


def _seed(server_seed: int, meaning: Meaning) -> int:
    model, messages, temperature, top_p, index = meaning
    canonical_form = [
        server_seed,
        model,
        [[message.role, message.content] for message in messages],
        temperature,
        top_p,
        index,
    ]
    try:  # compact UTF-8 JSON; orjson refuses a lone surrogate or an integer past 64 bits
        canonical = orjson.dumps(canonical_form)
    except orjson.JSONEncodeError:
        text = json.dumps(canonical_form, ensure_ascii=False, separators=(",", ":"))
        canonical = text.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(canonical, digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Generator:
    """Answers are a pure function of the seed derived from the request's meaning, so some are
    kept: a test suite asks the same questions again and again, and a repeated question costs a
    dictionary lookup instead of ~60 µs of writing and tokenizing (bench/). Answers are kept by
    their seed; the seeds of short conversations (up to SHORT characters) by the conversation,
    and whole completions (cut by max_tokens and stop) by the request when everything it holds
    (messages, stop, tools, documents) is short. Each cache is bounded by the size of what it
    holds (cache.py): at most ANSWERS, SEEDS and COMPLETIONS bytes (an estimate)."""

    SHORT = 4096
    ANSWERS = 8 << 20
    SEEDS = 2 << 20
    COMPLETIONS = 16 << 20

    def __init__(self, pool: WordPool, tokenizer: Tokenizer, server_seed: int) -> None:
        self._pool = pool
        self._tokenizer = tokenizer
        self._seed = server_seed
        self._bank = SentenceBank(pool, tokenizer)
        self._answers: SizedCache[int | tuple[int, int], Written] = SizedCache(self.ANSWERS)
        self._seeds: SizedCache[Meaning, int] = SizedCache(self.SEEDS)
        self._completions: SizedCache[ChatRequest, Completion] = SizedCache(self.COMPLETIONS)

    def clear_caches(self) -> None:
        self._answers.clear()
        self._seeds.clear()
        self._completions.clear()

    def answer(self, request: ChatRequest, index: int = 0) -> str:
        """The full, uncut answer for choice `index`."""
        return self._written(self._seed_of(request, index), asked_words(request))[0]

    def write(self, request: ChatRequest, asked: Asked, budget: Budget | None = None) -> Completion:
        """The completion the plan asks for: its content, its tool calls, or the generated answer."""
        if asked.content is not None:
            return self.scripted(request, asked.content, asked.finish_reason)
        if asked.tool_calls:
            return self.called(request, asked.tool_calls, budget)
        return self.complete(request, budget)

    def complete(self, request: ChatRequest, budget: Budget | None = None) -> Completion:
        """The answer to `request`; tool-call arguments are written within `budget`."""
        if _size(request) > self.SHORT:  # the cache never holds a long text
            return self._complete(request, budget or Budget())
        completion = self._completions.get(request)
        if completion is None:
            completion = self._complete(request, budget or Budget())
            self._completions.put(request, completion, _size(request) + _weight(completion))
        return completion

    def _complete(self, request: ChatRequest, budget: Budget) -> Completion:
        choices = []
        facts = (
            facts_of(request, self._pool.country_set)
            if request.tools or request.results or request.documents or request.json_mode
            else None
        )
        offered = _Offered(request, facts) if request.tools and facts is not None else None
        for index in range(request.n):
            seed = self._seed_of(request, index)
            if request.tool_choice is not None and request.tools:
                choices.append(self._forced_call(request, offered, index, seed, budget))
                continue
            if offered and (called := self._tool_call(request, offered, index, seed, budget)) is not None:
                choices.append(called)
                continue
            if request.json_mode:
                choices.append(self.cut(self._json(request, seed, budget, facts), request, index))
                continue
            text, tokens = self._written(seed, asked_words(request))
            grounded = self._grounded_text(request, facts, seed) if facts is not None else None
            if grounded is not None:
                choices.append(self.cut(grounded, request, index))
                continue
            choices.append(self.cut(text, request, index, tokens))
        if request.reasoning:
            choices = [self._reasoned(request, choice) for choice in choices]
        return Completion(choices=tuple(choices), prompt_tokens=request.prompt_tokens)

    def _reasoned(self, request: ChatRequest, choice: Choice) -> Choice:
        """A reasoning model's choice: its thinking (a text of its own, from the choice's seed)
        first, then the answer; max_tokens counts both, so a short budget cuts the thinking and
        leaves no answer (as a model that runs out of tokens while it thinks)."""
        _, thinking = self._written(self._seed_of(request, choice.index) ^ _REASONING)
        if len(thinking) >= request.max_tokens:
            return Choice(choice.index, (), "length", reasoning=thinking[: request.max_tokens])
        room = request.max_tokens - len(thinking)
        if len(choice.tokens) <= room:
            return replace(choice, reasoning=thinking)
        return Choice(choice.index, choice.tokens[:room], "length", choice.tool_calls, reasoning=thinking)

    def _tool_call(
        self, request: ChatRequest, offered: _Offered, index: int, seed: int, budget: Budget
    ) -> Choice | None:
        """Policy: when the user spoke last, the answer calls every tool whose required
        arguments the conversation gives (ids, places, dates, numbers, enum values it names) and
        that shares a word with what the user or the system said, in one answer (parallel
        calls). Failing those, it calls one tool when a tool shares a word with what the user
        said (or there is only one tool): the one sharing the most words, the first on a tie.
        Arguments are generated from the tool's parameters schema, the conversation's values
        first; a tool whose schema they cannot satisfy (or that the budget has no room left for)
        is passed over. After tool results, the answer is text."""
        facts, prompt = offered.facts, request.messages[-1].content

        def call(tool: Tool) -> ToolCall | None:
            written = facts.arguments_written(tool.name)
            rng = random.Random(seed)
            arguments = structured_arguments(
                tool.parameters, rng, self._pool, prompt, budget, facts=facts, written=written
            )
            return None if arguments is None else ToolCall(tool.name, arguments)

        calls = tuple(made for made in map(call, offered.grounded) if made is not None)
        if calls:
            return self._calling(index, calls)
        for tool in offered.candidates:
            if (made := call(tool)) is not None:
                return self._calling(index, (made,))
        return None

    def _forced_call(
        self, request: ChatRequest, offered: _Offered | None, index: int, seed: int, budget: Budget
    ) -> Choice:
        """The call `tool_choice` asks for: the named tool, or (for "") the calls the conversation
        asks for, failing those the best candidate, failing that the first tool."""
        name = request.tool_choice
        if not name:
            if offered is not None and (called := self._tool_call(request, offered, index, seed, budget)):
                return called
            name = (
                offered.candidates[0].name
                if offered is not None and offered.candidates
                else request.tools[0].name
            )
        return self._calling(index, (ToolCall(name, self._arguments_for(request, name, seed, budget)),))

    def _grounded_text(self, request: ChatRequest, facts: Facts, seed: int) -> str | None:
        """An answer that uses the conversation: after tool results, those results with what they
        were asked about; with documents, a quote from them; then the generated answer's first
        sentence or the answer itself. None: the plain generated answer."""
        text = self._written(seed)[0]
        if request.results and request.messages[-1].role == "tool":
            rest = write_sentence(self._pool, random.Random(seed), with_connector=False)
            return f"{results_answer(request.results)} {rest}"
        if request.documents:
            quoted = quote(request.documents, facts.said)
            if quoted is not None:
                return f'According to the documents, "{quoted}" {text}'
        return None

    def _json(self, request: ChatRequest, seed: int, budget: Budget, facts: Facts | None) -> str:
        """JSON mode: an object shaped by a schema pasted into the prompt (its keys and value
        types), or by the keys the prompt quotes or lists."""
        prompt = _last_user_text(request)
        schema = prompt_schema(prompt)
        if schema is not None:
            try:
                text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                written = (
                    structured_arguments(text, random.Random(seed), self._pool, prompt, budget, facts=facts)
                    if budget.compile(len(text))
                    else None
                )
            except ValueError:  # not a schema the compiler takes (a reference outside it, say)
                written = None
            if written is not None:
                return written
        return json_answer(asked_keys(prompt), random.Random(seed), self._pool, prompt, facts)

    def _calling(self, index: int, calls: tuple[ToolCall, ...]) -> Choice:
        """A choice that makes these calls; its tokens count each call's name and arguments."""
        tokens = self._tokenizer.tokenize("".join(call.name + call.arguments for call in calls))
        return Choice(index, tuple(tokens), "tool_calls", calls)

    def _seed_of(self, request: ChatRequest, index: int) -> int:
        meaning = _meaning(request, index)
        size = sum(map(len, map(_CONTENT, request.messages)))
        if size > self.SHORT:
            return _seed(self._seed, meaning)
        seed = self._seeds.get(meaning)
        if seed is None:
            seed = _seed(self._seed, meaning)
            self._seeds.put(meaning, seed, size + _OBJECT * (len(request.messages) + 1))
        return seed

    def _written(self, seed: int, words: int | None = None) -> tuple[str, tuple[str, ...]]:
        key = seed if words is None else (seed, words)
        written = self._answers.get(key)
        if written is None:
            written = _written_answer(self._bank, random.Random(seed), words)
            self._answers.put(key, written, len(written[0]) + _OBJECT * len(written[1]))
        return written

    def scripted(
        self, request: ChatRequest, text: str, finish_reason: FinishReason | None = None
    ) -> Completion:
        """A scripted answer `text` for every choice, cut like a generated one; `finish_reason`
        replaces `stop` when neither max_tokens nor a stop sequence cut it."""
        choices = []
        for index in range(request.n):
            choice = self.cut(text, request, index)
            if finish_reason and choice.finish_reason == "stop" and len(choice.content) == len(text):
                choice = Choice(index=index, tokens=choice.tokens, finish_reason=finish_reason)
            choices.append(choice)
        return Completion(choices=tuple(choices), prompt_tokens=request.prompt_tokens)

    def called(
        self, request: ChatRequest, calls: Sequence[tuple[str, str | None]], budget: Budget | None = None
    ) -> Completion:
        """A scripted answer that makes these tool calls (name, arguments as JSON text) in every
        choice; arguments given as None are generated from the named tool's parameters schema
        (`{}` when the request offers no such tool, or its schema or the budget cannot be met)."""
        budget = budget or Budget()
        choices = []
        for index in range(request.n):
            seed = self._seed_of(request, index)
            made = tuple(
                ToolCall(
                    name, self._arguments_for(request, name, seed, budget) if arguments is None else arguments
                )
                for name, arguments in calls
            )
            choices.append(self._calling(index, made))
        return Completion(choices=tuple(choices), prompt_tokens=request.prompt_tokens)

    def _arguments_for(self, request: ChatRequest, name: str, seed: int, budget: Budget) -> str:
        tool = next((tool for tool in request.tools if tool.name == name), None)
        if tool is None:
            return "{}"
        prompt = _last_user_text(request)
        written = structured_arguments(tool.parameters, random.Random(seed), self._pool, prompt, budget)
        return written or "{}"

    def cut(
        self, text: str, request: ChatRequest, index: int = 0, tokens: Sequence[str] | None = None
    ) -> Choice:
        """Apply `stop` then `max_tokens` to an answer, as a model generating token by token would
        (`tokens`: the whole text's, when known)."""
        end, stop = stopped_at(text, request.stop)
        if tokens is None or end < len(text):
            tokens = self._tokenizer.tokenize(text[:end])
        reason: FinishReason = "stop"
        if request.max_tokens == 0 or len(tokens) > request.max_tokens:
            tokens, reason, stop = tokens[: request.max_tokens], "length", None
        return Choice(index=index, tokens=tuple(tokens), finish_reason=reason, stop_sequence=stop)


_WORDS = re.compile(r"[a-z0-9]+")
_REASONING = 0x7EA5_0017
"""Mixed into a choice's seed for its reasoning, a text of its own."""
_OBJECT = 64
"""Bytes a cache entry's each token, message or choice costs beside its characters (an estimate)."""
_CONTENT = itemgetter(1)  # Message.content, read in C


def _size(request: ChatRequest) -> int:
    """Characters of everything a request holds (what a cache keyed by it would hold)."""
    size = sum(map(len, map(_CONTENT, request.messages))) + sum(map(len, request.stop))
    if request.tools or request.documents:
        tools = sum(len(tool.name) + len(tool.description) + len(tool.parameters) for tool in request.tools)
        size += sum(map(len, request.documents)) + tools
    return size + _OBJECT * (len(request.messages) + len(request.stop))


def _weight(completion: Completion) -> int:
    """An estimate of a completion's bytes: its tokens' characters, and a cost per token."""
    return sum(
        len(choice.content) + _OBJECT * (len(choice.tokens) + 1)
        + sum(len(call.name) + len(call.arguments) for call in choice.tool_calls)
        for choice in completion.choices
    )  # fmt: skip


class _Offered:
    """The tools a request offers, in the order the answer would try them (computed once for all
    its choices: what the user said and each tool's words are read once)."""

    def __init__(self, request: ChatRequest, facts: Facts) -> None:
        self.facts = facts
        last = request.messages[-1]
        self.candidates: tuple[Tool, ...] = ()
        self.grounded: tuple[Tool, ...] = ()
        if last.role != "user":
            return
        said = set(_WORDS.findall(last.content.lower()))
        scored = sorted(
            ((len(said & tool_words(tool.name, tool.description)), -position, tool)
             for position, tool in enumerate(request.tools)),
            key=lambda entry: entry[:2],
            reverse=True,
        )  # fmt: skip
        several = len(request.tools) > 1
        self.candidates = tuple(tool for score, _, tool in scored if score > 0 or not several)
        self.grounded = tuple(  # facts.words: what the user or the system said
            tool
            for tool in request.tools
            if facts.words & tool_words(tool.name, tool.description) and _grounded_tool(tool, facts)
        )


def _grounded_tool(tool: Tool, facts: Facts) -> bool:
    try:
        parameters = json.loads(tool.parameters)
    except ValueError:
        return False
    return isinstance(parameters, dict) and grounded(parameters, facts, tool.name)


def _last_user_text(request: ChatRequest) -> str:
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


def first_stop(text: str, stops: tuple[str, ...]) -> int:
    """Where the first stop sequence in `text` starts (len(text): none is there)."""
    return stopped_at(text, stops)[0]


def stopped_at(text: str, stops: tuple[str, ...]) -> tuple[int, str | None]:
    """Where the first stop sequence in `text` starts, and which it is (the first listed of those
    starting there); (len(text), None) when none is there."""
    found = [(at, position) for position, stop in enumerate(stops) if stop and (at := text.find(stop)) >= 0]
    if not found:
        return len(text), None
    at, position = min(found)
    return at, stops[position]


def asked_words(request: ChatRequest) -> int | None:
    """The answer's length in words the last user message asks for ("in 50 words", "a
    2,000-word essay"; the first such phrase), at most ASKED_WORDS; None: no length is asked."""
    found = _ASKED_LENGTH.search(_last_user_text(request))
    if found is None:
        return None
    return max(1, min(int(found.group(1).replace(",", "")), ASKED_WORDS))


def _written_answer(
    bank: SentenceBank, rng: random.Random, words: int | None = None
) -> tuple[str, tuple[str, ...]]:
    """One English-like answer and its tokens: an opener (half the time), then paragraphs of three
    to five of the bank's sentences, until the answer's length in words is reached (drawn, or
    from a tenth under the `words` asked to a sentence over). A sentence after the first of its
    paragraph opens with a connector 3 times in 16."""
    if words is None:
        target = round(rng.lognormvariate(math.log(_MEDIAN_WORDS), _SIGMA))
        target = min(max(target, _MIN_WORDS), _MAX_WORDS)
    else:
        target = max(1, round(words * rng.uniform(0.9, 1.0)))
    texts: list[str] = []
    tokens: list[str] = []
    in_paragraph, paragraph = 0, rng.randint(3, 5)
    if rng.random() < 0.5:
        opener = bank.opener(rng.randrange(bank.openers))
        texts.append(opener.text)
        tokens += opener.first
        in_paragraph = 1
    words, draw, sentence_at = 0, rng.getrandbits, bank.sentence
    while words < target:
        if in_paragraph >= paragraph:
            texts.append("\n\n")
            tokens += bank.paragraph_break
            in_paragraph, paragraph = 0, rng.randint(3, 5)
        bits = draw(_DRAW_BITS)  # one draw: the place in the bank, and whether a connector leads
        if in_paragraph:
            sentence = sentence_at(bits & _PLACE, connected=bits >> _PLACE_BITS < 3)
            texts.append(" ")
            tokens += sentence.spaced
        else:
            sentence = sentence_at(bits & _PLACE)
            tokens += sentence.first
        texts.append(sentence.text)
        words += sentence.words
        in_paragraph += 1
    return "".join(texts), tuple(tokens)


_PLACE_BITS = SentenceBank.SIZE.bit_length() - 1
_PLACE = SentenceBank.SIZE - 1
_DRAW_BITS = _PLACE_BITS + 4
assert SentenceBank.SIZE == 1 << _PLACE_BITS, "the bank's size is a power of two: a place is a draw of bits"
