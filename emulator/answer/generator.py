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
from functools import cache
from operator import itemgetter

from ..chat.budget import Budget
from ..chat.completion import Choice, Completion, FinishReason, ToolCall
from ..chat.request import ChatRequest, Message, Tool
from ..chat.tokenizer import Tokenizer
from .cache import SizedCache
from .grounding import Facts, facts_of, grounded, prompt_schema, quote, results_answer, tool_words
from .structured import arguments as structured_arguments
from .structured import asked_keys, json_answer
from .wordpool import WordPool

# Answer length in words: log-normal around a median of ~55 words (~70 tokens), so most
# answers run from tens to a few hundred tokens, with a rare long one.
_MEDIAN_WORDS, _SIGMA, _MIN_WORDS, _MAX_WORDS = 55, 0.75, 6, 600
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")


def seed_for(request: ChatRequest, index: int, server_seed: int) -> int:
    """A stable 64-bit seed from the request's meaning (never Python's salted hash())."""
    return _seed(server_seed, _meaning(request, index))


Meaning = tuple[str, tuple[Message, ...], float, float, int]


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
    canonical = json.dumps(canonical_form, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=8).digest()
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
        self._answers: SizedCache[int, tuple[str, tuple[str, ...]]] = SizedCache(self.ANSWERS)
        self._seeds: SizedCache[Meaning, int] = SizedCache(self.SEEDS)
        self._completions: SizedCache[ChatRequest, Completion] = SizedCache(self.COMPLETIONS)

    def clear_caches(self) -> None:
        self._answers.clear()
        self._seeds.clear()
        self._completions.clear()

    def answer(self, request: ChatRequest, index: int = 0) -> str:
        """The full, uncut answer for choice `index`."""
        return self._written(self._seed_of(request, index))[0]

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
            facts_of(request)
            if request.tools or request.results or request.documents or request.json_mode
            else None
        )
        offered = _Offered(request, facts) if request.tools and facts is not None else None
        for index in range(request.n):
            seed = self._seed_of(request, index)
            if offered and (called := self._tool_call(request, offered, index, seed, budget)) is not None:
                choices.append(called)
                continue
            if request.json_mode:
                choices.append(self.cut(self._json(request, seed, budget, facts), request, index))
                continue
            text, tokens = self._written(seed)
            grounded = self._grounded_text(request, facts, seed) if facts is not None else None
            if grounded is not None:
                choices.append(self.cut(grounded, request, index))
                continue
            choices.append(self.cut(text, request, index, tokens))
        return Completion(choices=tuple(choices), prompt_tokens=request.prompt_tokens)

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

    def _grounded_text(self, request: ChatRequest, facts: Facts, seed: int) -> str | None:
        """An answer that uses the conversation: after tool results, those results with what they
        were asked about; with documents, a quote from them; then the generated answer's first
        sentence or the answer itself. None: the plain generated answer."""
        text = self._written(seed)[0]
        if request.results and request.messages[-1].role == "tool":
            rest = _Writer(self._pool, random.Random(seed)).sentence(with_connector=False)
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
        return json_answer(asked_keys(prompt), random.Random(seed), self._pool, prompt)

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

    def _written(self, seed: int) -> tuple[str, tuple[str, ...]]:
        written = self._answers.get(seed)
        if written is None:
            text = _Writer(self._pool, random.Random(seed)).answer()
            written = text, tuple(self._tokenizer.tokenize(text))
            self._answers.put(seed, written, len(text) + _OBJECT * len(written[1]))
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
        end = first_stop(text, request.stop)
        if tokens is None or end < len(text):
            tokens = self._tokenizer.tokenize(text[:end])
        reason: FinishReason = "stop"
        if request.max_tokens == 0 or len(tokens) > request.max_tokens:
            tokens, reason = tokens[: request.max_tokens], "length"
        stopped = reason == "stop" and end < len(text)
        return Choice(index=index, tokens=tuple(tokens), finish_reason=reason, stop_sequence=stopped)


_WORDS = re.compile(r"[a-z0-9]+")
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
    positions = [at for stop in stops if stop and (at := text.find(stop)) >= 0]
    return min(positions, default=len(text))


class _Writer:
    """Writes one English-like answer: an opener, paragraphs of templated sentences."""

    def __init__(self, pool: WordPool, rng: random.Random) -> None:
        self._pool = pool
        self._rng = rng

    def answer(self) -> str:
        rng = self._rng
        target = round(rng.lognormvariate(math.log(_MEDIAN_WORDS), _SIGMA))
        target = min(max(target, _MIN_WORDS), _MAX_WORDS)
        paragraphs: list[str] = []
        sentences: list[str] = [rng.choice(self._pool.openers)] if rng.random() < 0.5 else []
        words = 0
        while words < target:
            sentence = self.sentence(with_connector=bool(sentences) and rng.random() < 0.2)
            sentences.append(sentence)
            words += sentence.count(" ") + 1
            if len(sentences) >= rng.randint(3, 5) and words < target:
                paragraphs.append(" ".join(sentences))
                sentences = []
        paragraphs.append(" ".join(sentences))
        return "\n\n".join(paragraphs)

    def sentence(self, *, with_connector: bool) -> str:
        rng = self._rng
        parts: list[str] = []
        for literal, slot in _template_parts(rng.choice(self._pool.templates)):
            parts.append(literal)
            if slot:
                parts.append(self._fill(slot))
        text = "".join(parts)
        if with_connector:
            text = f"{rng.choice(self._pool.connectors)} {text[0].lower()}{text[1:]}"
        text = _ARTICLE.sub(r"\1n ", text)
        return text[0].upper() + text[1:]

    def _fill(self, slot: str) -> str:
        pool, rng = self._pool, self._rng
        match slot:
            case "noun":
                return rng.choice(pool.nouns)
            case "nouns":
                return _plural(rng.choice(pool.nouns))
            case "verb":
                return rng.choice(pool.verbs)
            case "adj":
                return rng.choice(pool.adjectives)
            case "adv":
                return rng.choice(pool.adverbs)
            case "name":
                return rng.choice(pool.names)
            case "city":
                return rng.choice(pool.cities)
            case "company":
                return rng.choice(pool.companies)
            case "number":
                return str(rng.randint(2, 2024))
            case other:
                raise ValueError(f"unknown template slot {{{other}}} in the word pool")


@cache
def _template_parts(template: str) -> tuple[tuple[str, str], ...]:
    """A sentence template as (literal text, slot name) pairs, slots filled left to right (the
    last slot name is empty): parsed once, instead of a regular-expression pass per sentence."""
    parts, start = [], 0
    for slot in _SLOT.finditer(template):
        parts.append((template[start : slot.start()], slot.group(1)))
        start = slot.end()
    parts.append((template[start:], ""))
    return tuple(parts)


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"
