"""Email copy generation: brand kits, prompt templates, the LLM gateway, guardrails and rendering."""
