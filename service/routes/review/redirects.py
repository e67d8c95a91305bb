"""The review pages' redirects: on to another review page after a form, under the proxy's root path."""

from fastapi import Request
from fastapi.responses import RedirectResponse

from service.review import address


def to_page(request: Request, path: str) -> RedirectResponse:
    """On to the review page ``path`` (as the app names it), under the proxy's root path."""
    return RedirectResponse(address(request, path), status_code=303)
