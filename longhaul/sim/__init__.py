"""longhaul's simulated model: an HTTP server that speaks the OpenAI and Anthropic wire formats and
answers longhaul's task prompts from their reference solutions, bent by a behaviour profile.

It is a simulation, named `sim/...` wherever it appears; nothing it says measures a real model.
"""

FINGERPRINT = "longhaul-sim"
"""Every OpenAI-format reply of the sim carries it as `system_fingerprint` (every Anthropic
message id starts `msg_sim_`, every Responses id `RESPONSE_ID_PREFIX`), so a client that reaches
the sim under another address still knows it is talking to a simulation."""

RESPONSE_ID_PREFIX = "resp_sim_"
"""How every response id of the sim's Responses wire begins (that wire has no fingerprint)."""

JUDGE_MARK = "longhaul refusal judge"
"""Every prompt of longhaul's refusal judge names itself with this phrase, so that the simulated
judge (`sim/judge`) knows one when it reads it. It lives here, below the judge, so that the sim
never imports the engine it serves."""
