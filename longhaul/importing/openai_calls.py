"""OpenAI's two APIs, and the servers that copy Chat Completions, read from saved calls."""

from __future__ import annotations

from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer, address
from longhaul.importing.fields import Body, split_think, text_of
from longhaul.providers.request import Usage


def chat(request: Body, response: Body, service: str) -> ImportedAnswer:
    """OpenAI Chat Completions, as OpenAI serves it."""
    return _chat(request, response, "openai")


def compatible(request: Body, response: Body, service: str) -> ImportedAnswer:
    """An OpenAI-compatible server: reasoning in `reasoning_content` (DeepSeek, vLLM; `reasoning`
    on some), or inline at the start of the answer as `<think>…</think>` (Perplexity's Sonar,
    DeepSeek-R1 served raw)."""
    return _chat(request, response, service)


def _chat(request: Body, response: Body, provider: str) -> ImportedAnswer:
    choice = response.item("choices", 0)
    message = choice.at("message")
    content = message.string("content") or ""
    reasoning = message.string("reasoning_content") or message.string("reasoning") or ""
    inline, content = split_think(content)
    system, user, count = _conversation(request, "messages")
    usage = response.maybe("usage")
    details = usage.maybe("completion_tokens_details") if usage else None
    return ImportedAnswer(
        where=response.where,
        model=address(_model(request, response), provider),
        text=content,
        thinking=reasoning + inline,
        stop_reason=choice.string("finish_reason"),
        system=system,
        user=user,
        messages=count,
        usage=Usage(
            input_tokens=usage.whole("prompt_tokens") or 0,
            output_tokens=usage.whole("completion_tokens") or 0,
            reasoning_tokens=details.whole("reasoning_tokens") if details else None,
        )
        if usage
        else None,
        temperature=request.number("temperature"),
        max_tokens=request.whole("max_completion_tokens") or request.whole("max_tokens"),
    )


def responses(request: Body, response: Body, service: str) -> ImportedAnswer:
    """OpenAI Responses: the answer is every `output_text` of every `message` item, in order (a
    long answer may be split over several items), the thinking every reasoning summary."""
    text, thinking = [], []
    for i, raw in enumerate(response.items("output")):
        item = Body(raw, response.where, f"{response.path}.output[{i}]")
        if item.obj.get("type") == "message":
            text += [p["text"] for p in item.items("content") if isinstance(p, dict) and p.get("type") == "output_text"]
        elif item.obj.get("type") == "reasoning":
            for part in ("summary", "content"):
                thinking.append(text_of(item.obj.get(part)))
    status = response.string("status")
    details = response.maybe("incomplete_details")
    stop = (details.string("reason") if details else None) or status if status == "incomplete" else status
    system, user, count = _conversation(request, "input")
    instructions = request.string("instructions")
    usage = response.maybe("usage")
    out_details = usage.maybe("output_tokens_details") if usage else None
    return ImportedAnswer(
        where=response.where,
        model=address(_model(request, response), "openai"),
        text="".join(text),
        thinking="".join(thinking),
        stop_reason=stop,
        system=instructions or system,
        user=user,
        messages=count + (1 if instructions else 0),
        usage=Usage(
            input_tokens=usage.whole("input_tokens") or 0,
            output_tokens=usage.whole("output_tokens") or 0,
            reasoning_tokens=out_details.whole("reasoning_tokens") if out_details else None,
        )
        if usage
        else None,
        temperature=request.number("temperature"),
        max_tokens=request.whole("max_output_tokens"),
    )


def _model(request: Body, response: Body) -> str:
    """The model asked for; the one that answered when the request does not say."""
    model = request.string("model") or response.string("model")
    if not model:
        raise BadInput(f"{response.where}: neither request.body.model nor response.body.model names the model")
    return model


def _conversation(request: Body, key: str) -> tuple[str, str, int]:
    """(system prompt, last user message, how many messages) of a request's message list; a
    Responses `input` may be a plain string, which is one user message."""
    value = request.obj.get(key)
    if isinstance(value, str):
        return "", value, 1
    if not isinstance(value, list):
        raise BadInput(f"{request.where}: {request.path}.{key} must be a list of messages")
    system = "".join(text_of(m.get("content")) for m in value if isinstance(m, dict) and m.get("role") in ("system", "developer"))
    users = [text_of(m.get("content")) for m in value if isinstance(m, dict) and m.get("role") == "user"]
    return system, users[-1] if users else "", len(value)
