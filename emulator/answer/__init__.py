"""The answer wing: "what does the model say?". Pure: a validated request and a seed in, a
completion out (the generator, structured output, grounding, the word pool, ids)."""
