"""README's "Errors" lists every kind of error the API can answer in its body's `error`, with its status: a client
handling 422s met `InvalidRequest` from one check and `InvalidInput` from another, and README named neither."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# `{"error": "InvalidRequest", ...}` answered by a handler or a middleware, `_refused(409, "Conflict", ...)` by the
# idempotency keys, and the framework's refusals by their status in the app's handler (`405: ("MethodNotAllowed",`)
ANSWERED = re.compile(r'"error": "([A-Z]\w+)"|_refused\(\d{3}, "([A-Z]\w+)"|(?:\d{3}:|status_code,) \(\s*"([A-Z]\w+)",')
# The kinds that no answer's body gives (a job's status, the command line's errors, a recipient's page): README
# says so with a status of "—".
NEVER_ANSWERED = {"JobCancelled", "CampaignFailed", "AddressInUse", "LinkNotFound"}


def _documented() -> dict[str, str]:
    """Each kind of error README's "Errors" lists, with the status it gives."""
    section = README[README.index("### Errors") :]
    section = section[: section.index("\n#", 1)]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, flags=re.MULTILINE))


def _error_classes() -> dict[str, type]:
    """Every named error of the service the app can raise (those of the modules it imports), by name."""
    import service.app  # noqa: F401  (every router, job and middleware, with the errors they define)
    from service.errors import TailorError

    found, unseen = {}, list(TailorError.__subclasses__())
    while unseen:
        error = unseen.pop()
        found[error.__name__] = error
        unseen += error.__subclasses__()
    return found


def test_every_kind_of_error_the_service_answers_is_listed_in_the_readme_with_its_status():
    documented = _documented()
    classes = _error_classes()
    assert {"InvalidInput", "NotFound", "StorageUnavailable"} <= set(classes)  # the classes are found
    for name, error in classes.items():
        assert name in documented, f"{name} is not in README's Errors"
        told = "—" if name in NEVER_ANSWERED else str(error.status_code)
        assert documented[name] == told, (name, documented[name], told)

    answered = set()
    for source in (ROOT / "service").rglob("*.py"):
        answered |= {next(filter(None, match)) for match in ANSWERED.findall(source.read_text(encoding="utf-8"))}
    assert {"InvalidRequest", "MethodNotAllowed", "ContentTooLarge", "Forbidden", "HTTPError"} <= answered
    assert sorted(answered - set(documented)) == []
    # and README lists no kind the service does not have
    assert sorted(set(documented) - set(classes) - answered) == []
