"""Campaign goal: the subject, preheader or intro says what the email is for, in one of the campaign type's goal
words for the locale (prompts/campaigns/<type>.yaml, `goal_words`: the start of a word, or a phrase).

The local model wrote win-back emails that never invited anyone back ("Your kitchen is going to love it! There's a
new one-pot you've found") and VIP emails that never thanked anyone; every other check passed them. The template
copy holds a goal word by construction, so such copy is replaced by it. A reviewer's own edit is not held to
the list (see `generation.pipeline.finish_variant`): the person decides how to say it.
"""

from __future__ import annotations

from generation.guardrails.base import CheckContext, any_word, failed, passed
from generation.schemas import CheckResult
from generation.templates import goal_words

NAME = "campaign_goal"
LABEL = "the campaign's goal"  # the name a copywriter reads


def check(context: CheckContext) -> CheckResult:
    if context.lines_only:
        return passed(NAME)
    words = tuple(goal_words(context.request.campaign_type, context.locale))
    if not words:
        return passed(NAME)
    said = " ".join((context.subject, context.preheader, context.intro))
    if any_word(words, r"\w*").search(said):  # a word's start is enough: "thank" finds "thanks", "thankful"
        return passed(NAME)
    kind = context.request.campaign_type.replace("_", "-")
    examples = ", ".join(f"'{word}'" for word in words[:3])
    return failed(
        NAME, f"the subject, preheader and intro never say what a {kind} email is for (words like {examples})"
    )
