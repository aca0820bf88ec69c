"""The chat every wing speaks: the canonical request and completion values, the tokenizer, a
tool's parameters schema compiled safely, and the per-request budget. Pure; imports no other wing."""
