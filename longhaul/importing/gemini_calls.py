"""Gemini generateContent, read from saved calls: parts marked `thought: true` are the thinking
(a summary of it), the others the answer. The request body does not name the model (the URL
does), so it is the response's `modelVersion`."""

from __future__ import annotations

from longhaul.errors import BadInput
from longhaul.importing.answer import ImportedAnswer, address
from longhaul.importing.fields import Body, text_of
from longhaul.providers.request import Usage


def generate_content(request: Body, response: Body, service: str) -> ImportedAnswer:
    model = request.string("model") or response.string("modelVersion")
    if not model:
        raise BadInput(f"{response.where}: neither request.body.model nor response.body.modelVersion names the model")
    text: list[str] = []
    thinking: list[str] = []
    candidates = response.obj.get("candidates") or []
    if candidates:
        candidate = response.item("candidates", 0)
        content = candidate.maybe("content")
        for part in content.items("parts") if content and "parts" in content.obj else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                (thinking if part.get("thought") is True else text).append(part["text"])
        stop = candidate.string("finishReason")
    else:  # the prompt itself was blocked: no candidate, a `promptFeedback.blockReason`
        feedback = response.maybe("promptFeedback")
        stop = feedback.string("blockReason") if feedback else None
        if stop is None:
            raise BadInput(f"{response.where}: response.body has no candidates and no promptFeedback.blockReason")
        stop = "safety" if stop.lower() not in ("safety", "blocklist", "prohibited_content", "spii") else stop
    contents = request.items("contents")
    users = [text_of(c.get("parts")) for c in contents if isinstance(c, dict) and c.get("role", "user") == "user"]
    system = request.maybe("systemInstruction") or request.maybe("system_instruction")
    config = request.maybe("generationConfig") or request.maybe("generation_config")
    meta = response.maybe("usageMetadata")
    thoughts = meta.whole("thoughtsTokenCount") if meta else None
    return ImportedAnswer(
        where=response.where,
        model=address(model, "gemini"),
        text="".join(text),
        thinking="".join(thinking),
        stop_reason=stop,
        system=text_of(system.obj.get("parts")) if system else "",
        user=users[-1] if users else "",
        messages=len(contents) + (1 if system else 0),
        # Thoughts count against maxOutputTokens and are billed as output: they are output here.
        usage=Usage(
            input_tokens=meta.whole("promptTokenCount") or 0,
            output_tokens=(meta.whole("candidatesTokenCount") or 0) + (thoughts or 0),
            reasoning_tokens=thoughts,
        )
        if meta
        else None,
        temperature=config.number("temperature") if config else None,
        max_tokens=config.whole("maxOutputTokens") if config else None,
    )
