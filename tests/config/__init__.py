"""The stack's config: every value parsed, every refusal naming the key and the fix, before any resource exists."""
