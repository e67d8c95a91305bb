"""Generation eval: schema validity, fallbacks, guardrail violations, language, personalization, diversity, cost."""
