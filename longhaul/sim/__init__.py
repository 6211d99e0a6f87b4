"""longhaul's simulated model: an HTTP server that speaks the OpenAI and Anthropic wire formats and
answers longhaul's task prompts from their reference solutions, bent by a behaviour profile.

It is a simulation, named `sim/...` wherever it appears; nothing it says measures a real model.
"""
