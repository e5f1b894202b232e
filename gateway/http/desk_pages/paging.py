"""The desk's lists a page at a time: `?page=N` read and checked the same way on every list
(triage, waiting, duplicates, search, the directory's access log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.intake import IntakeRejected


@dataclass(frozen=True)
class Paging:
    page: int  # from 1
    size: int  # rows on a page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def context(self, total: int) -> dict[str, Any]:
        """What the shared pager template reads: this page, how many there are, the first row's number."""
        return {
            "total": total,
            "page": self.page,
            "pages": max(1, -(-total // self.size)),
            "first": self.offset + 1,
        }


def paging(request: web.Request, size: int) -> Paging:
    """The requested page of a list; a 400 JSON error (`invalid_page`) for anything but a whole number."""
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise IntakeRejected(
            400, "invalid_page", "page must be a whole number from 1", field="page"
        ) from None
    return Paging(max(1, page), size)
