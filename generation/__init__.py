"""Email copy generation: brand kits, prompt templates, the LLM gateway, guardrails and rendering.

The service calls `generate_drafts` (generation.pipeline), `finish_variant` after an edit, `load_brand` /
`brand_names` (generation.brands) and `write_jsonl` (generation.export); settings come from TAILOR_LLM_*.
"""
