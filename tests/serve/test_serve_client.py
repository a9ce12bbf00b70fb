"""`assay serve` as a drop-in OpenAI server: the official `openai` client against a real
server on loopback, over the bundled model (streaming, conversations, n, logprobs, echo,
models.retrieve, errors a client can read)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from tests.serve.conftest import NAME

from assay.data.dialogue import Turn
from assay.data.prompts import Prompt
from assay.models.base import GenerationParams
from assay.models.hf import HFModel
from assay.serve import BackgroundServer

pytestmark = pytest.mark.slow  # a real model behind a real server

QUESTION = [{"role": "user", "content": "Name three colours."}]


def test_chat_stream_equals_the_answer_and_counts_usage(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=NAME, messages=QUESTION, max_tokens=24, temperature=0
    )
    chunks = list(
        client.chat.completions.create(
            model=NAME,
            messages=QUESTION,
            max_tokens=24,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    with_choices = [c for c in chunks if c.choices]
    streamed = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert streamed == answer.choices[0].message.content and streamed
    assert len(with_choices) > 3  # tokens arrive as they are made, not in one piece
    assert with_choices[-1].choices[0].finish_reason == answer.choices[0].finish_reason
    assert all(c.usage is None for c in with_choices)
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and answer.usage is not None
    assert last.usage.model_dump() == answer.usage.model_dump()
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].object == "chat.completion.chunk"


def test_completion_stream_equals_the_answer_with_a_stop_string(
    client: openai.OpenAI, server: BackgroundServer
) -> None:
    kwargs = {"model": NAME, "prompt": "A list of fruits: apple,", "max_tokens": 30}
    kwargs |= {"temperature": 0, "stop": [" banana", "\n"]}
    answer = client.completions.create(**kwargs)  # type: ignore[call-overload]
    text = answer.choices[0].text
    stream = client.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}
    )  # type: ignore[call-overload]
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == text
    assert chunks[-1].usage.model_dump() == answer.usage.model_dump()  # type: ignore[union-attr]
    # On the wire: server-sent events ending in [DONE].
    with httpx.stream(
        "POST",
        f"{server.base_url}/completions",
        json={**kwargs, "stream": True},
        timeout=300,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_concurrent_streams_do_not_mix(client: openai.OpenAI, server: BackgroundServer) -> None:
    topics = ["the sea", "a mountain", "bread", "a train", "winter", "a violin"]
    questions = [[{"role": "user", "content": f"Write one sentence about {t}."}] for t in topics]

    def answer(messages: list[dict[str, str]]) -> str:
        reply = client.chat.completions.create(
            model=NAME, messages=messages, max_tokens=20, temperature=0
        )
        return reply.choices[0].message.content or ""

    def streamed(messages: list[dict[str, str]]) -> str:
        stream = client.chat.completions.create(
            model=NAME, messages=messages, max_tokens=20, temperature=0, stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    expected = [answer(q) for q in questions]
    before = len(server.app.state.batcher.batches)
    with ThreadPoolExecutor(len(questions)) as pool:
        got = list(pool.map(streamed, questions))
    assert got == expected
    assert len(set(expected)) == len(expected)
    assert max(server.app.state.batcher.batches[before:]) > 1  # they ran batched together


def test_whole_conversation_goes_through_the_chat_template(
    client: openai.OpenAI, smol: HFModel
) -> None:
    messages = [
        {"role": "system", "content": "You answer in one word."},
        {"role": "user", "content": "What colour is the sky?"},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "And grass?"},
    ]
    reply = client.chat.completions.create(
        model=NAME, messages=messages, max_tokens=8, temperature=0
    )
    prompt = Prompt(
        "And grass?",
        "You answer in one word.",
        history=(Turn("user", "What colour is the sky?"), Turn("assistant", "Blue.")),
    )
    assert "Blue.<|im_end|>" in smol.render(prompt)  # the assistant turn is in the prompt
    local = smol.generate([prompt], GenerationParams(max_new_tokens=8))[0]
    assert reply.choices[0].message.content == local.text
    assert reply.usage is not None and reply.usage.prompt_tokens == local.prompt_tokens


def test_n_choices(client: openai.OpenAI) -> None:
    one = client.chat.completions.create(model=NAME, messages=QUESTION, max_tokens=12, seed=3)
    sampled = client.chat.completions.create(
        model=NAME, messages=QUESTION, max_tokens=12, temperature=1.0, n=3, seed=3
    )
    assert [c.index for c in sampled.choices] == [0, 1, 2]
    assert len({c.message.content for c in sampled.choices}) > 1  # each choice sampled anew
    assert sampled.usage is not None and one.usage is not None
    assert sampled.usage.prompt_tokens == one.usage.prompt_tokens  # the prompt counts once
    # /v1/completions: choice i*n + j is prompt i's choice j.
    prompts = ["One, two,", "Monday, Tuesday,"]
    greedy = client.completions.create(model=NAME, prompt=prompts, max_tokens=4, temperature=0, n=2)
    texts = [c.text for c in sorted(greedy.choices, key=lambda c: c.index)]
    alone = [
        client.completions.create(model=NAME, prompt=p, max_tokens=4, temperature=0).choices[0].text
        for p in prompts
    ]
    assert texts == [alone[0], alone[0], alone[1], alone[1]]


def test_chat_logprobs(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=NAME, messages=QUESTION, max_tokens=10, temperature=0, logprobs=True, top_logprobs=3
    )
    choice = reply.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    tokens = choice.logprobs.content
    assert reply.usage is not None and len(tokens) == reply.usage.completion_tokens
    assert "".join(t.token for t in tokens) == choice.message.content
    for token in tokens:
        assert len(token.top_logprobs) == 3
        assert token.top_logprobs[0].token == token.token  # greedy: the likeliest was chosen
        assert token.top_logprobs[0].logprob == pytest.approx(token.logprob, abs=1e-6)
        assert token.logprob <= 0 and token.bytes == list(token.token.encode())
    stream = client.chat.completions.create(
        model=NAME,
        messages=QUESTION,
        max_tokens=10,
        temperature=0,
        logprobs=True,
        top_logprobs=3,
        stream=True,
    )
    streamed = [
        t
        for c in stream
        if c.choices and c.choices[0].logprobs
        for t in c.choices[0].logprobs.content or []
    ]
    assert [(t.token, round(t.logprob, 4)) for t in streamed] == [
        (t.token, round(t.logprob, 4)) for t in tokens
    ]


def test_echoed_prompt_logprobs_equal_in_process_scores(
    client: openai.OpenAI, smol: HFModel
) -> None:
    context, continuation = "The capital of France is", " Paris"
    reply = client.completions.create(
        model=NAME, prompt=[context, context + continuation], max_tokens=0, echo=True, logprobs=1
    )
    first, whole = sorted(reply.choices, key=lambda c: c.index)
    assert first.text == context and whole.text == context + continuation
    assert first.logprobs is not None and whole.logprobs is not None
    split = len(first.logprobs.tokens or [])
    values = whole.logprobs.token_logprobs or []
    assert values[0] is None and all(v is not None for v in values[1:])
    assert "".join(whole.logprobs.tokens or []) == context + continuation
    assert whole.logprobs.text_offset == [
        sum(len(t) for t in (whole.logprobs.tokens or [])[:i]) for i in range(len(values))
    ]
    ((expected, greedy),) = smol.loglikelihood([(context, continuation)])
    assert sum(v for v in values[split:] if v is not None) == pytest.approx(expected, abs=1e-4)
    tops = (whole.logprobs.top_logprobs or [])[split:]
    assert greedy == all(v >= max(t.values()) for v, t in zip(values[split:], tops, strict=True))  # type: ignore[operator]
    assert reply.usage is not None and reply.usage.completion_tokens == 0


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [NAME]
    assert client.models.retrieve(NAME).id == NAME
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-4o")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION, max_tokens=2)


def test_errors_reach_the_client_with_their_message(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=NAME, messages=QUESTION, temperature=-1)
    error = caught.value
    assert "temperature must be 0 (greedy) or more" in str(error)  # not just "Error code: 400"
    assert isinstance(error.body, dict) and error.body["param"] == "temperature"
    assert error.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match="maximum context length is 8192"):
        client.completions.create(model=NAME, prompt="Hi", max_tokens=10**9)
