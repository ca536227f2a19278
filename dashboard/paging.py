"""Pages of long lists: numbered, with a count that stops at COUNT_LIMIT rows.

Counting every row of a million-delivery history on each page (and each poll) would cost more
than reading the page; past COUNT_LIMIT the pages say "more than" and the filters (Until)
reach further back.
"""

from functools import cached_property

from django.core.paginator import Page, Paginator
from django.http import QueryDict

from deliveries.engine.numbers import NumberRefused, parse_int
from deliveries.selectors import bounded_count

# Rows counted at most: 400 pages of 25, read as one bounded index scan (a few ms).
COUNT_LIMIT = 10_000
# Pages past the last show the last one; this only bounds what is read as a number.
MAX_PAGE_NUMBER = 10**12
# Page links shown on each side of the current page.
NEIGHBOUR_PAGES = 2


class BoundedPaginator(Paginator):
    @cached_property
    def _counted(self) -> int:
        # One row past the limit tells "exactly COUNT_LIMIT" from "more".
        return bounded_count(self.object_list, limit=COUNT_LIMIT + 1)

    @cached_property
    def count(self) -> int:
        return min(self._counted, COUNT_LIMIT)

    @property
    def count_exact(self) -> bool:
        return self._counted <= COUNT_LIMIT


def page_numbers(page: Page) -> list[int | None]:
    """The page links to show: the first, the last, and the current page with its
    neighbours; None marks a gap."""
    last = page.paginator.num_pages
    shown = {1, last, *range(page.number - NEIGHBOUR_PAGES, page.number + NEIGHBOUR_PAGES + 1)}
    numbers: list[int | None] = []
    for number in sorted(n for n in shown if 1 <= n <= last):
        if numbers and numbers[-1] is not None and number > numbers[-1] + 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def requested_page(query: QueryDict) -> int | None:
    """The `page` asked for; None (the first page) when absent or not ASCII digits."""
    try:
        return parse_int(query.get("page", ""), low=1, high=MAX_PAGE_NUMBER)
    except NumberRefused:
        return None
