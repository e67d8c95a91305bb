"""Named errors of the generation package; their messages are written for the person running Tailor."""


class GenerationError(Exception):
    """Base class: anything in generation that a user can act on."""


class UnknownBrand(GenerationError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"Unknown brand '{name}'. Brand kits available: {', '.join(known) or 'none'}.")


class UnknownCampaignType(GenerationError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"Unknown campaign type '{name}'. Use one of: {', '.join(known)}.")


class UnsupportedLocale(GenerationError):
    def __init__(self, locale: str, known: list[str]):
        super().__init__(f"No copy templates for locale '{locale}'. Supported locales: {', '.join(known)}.")


class BrandKitInvalid(GenerationError):
    def __init__(self, path: str, problem: str):
        super().__init__(f"The brand kit {path} is not valid: {problem}")


class PromptFileInvalid(GenerationError):
    """A file of prompts/ (a template, a campaign's copy, the email's wording) that does not read or render: the
    message names the file and line, where the bare jinja2 or YAML error named neither."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"The prompt file {where} is not valid: {problem}")


class ModelUnavailable(GenerationError):
    """The configured LLM cannot be reached or started."""


class ModelOutputInvalid(GenerationError):
    """The LLM answered, but not with JSON that fits the requested schema; ``usage`` is what the answer cost
    (its tokens count, and a hosted model bills them, even though the answer cannot be used)."""

    def __init__(self, message: str, usage=None) -> None:
        super().__init__(message)
        self.usage = usage


class ModelTimedOut(GenerationError):
    """The model's answer did not begin within TAILOR_LLM_TIMEOUT seconds, stopped for TAILOR_LLM_STALL_TIMEOUT
    seconds, or was not whole by its group's deadline (TAILOR_LLM_GROUP_DEADLINE); ``limit`` says which ran out
    ("first", "gap" or "ends_at"), so that a caller with a deadline of its own can name it."""

    def __init__(self, message: str, limit: str = "first") -> None:
        super().__init__(message)
        self.limit = limit


class RecordInvalid(GenerationError):
    """A file of recorded model answers (``--record``) that cannot be read or is no such record."""

    def __init__(self, path, problem: str) -> None:
        super().__init__(f"The recorded answers {path} cannot be replayed: {problem}")


class AnswerNotRecorded(GenerationError):
    """A replay asked for an answer its record does not hold: the copy code asks the model something else (or more)
    than when the answers were recorded. Not a ModelUnavailable: a replay must fail, not fall back to templates."""
