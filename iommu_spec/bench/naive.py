"""The baseline the model is measured against: one dictionary entry per page.

This is the obvious way to write a reference model, and the reason the real
one keeps leaf runs in an interval map instead.  It handles only the plain
cases (aligned maps and unmaps, smallest pages, stop at the first hole); it
exists for the benchmark, not as a specification.
"""

from spec.errors import EEXIST, EINVAL


class NaiveDomain:
    """Pages of ``page`` bytes in a dict ``iova -> (paddr, prot)``."""

    def __init__(self, page: int = 4096) -> None:
        self.page = page
        self.pages: dict[int, tuple[int, int]] = {}

    def map(self, iova: int, paddr: int, size: int, prot: int) -> int:
        if (iova | paddr | size) % self.page:
            return -EINVAL
        done = []
        for off in range(0, size, self.page):
            if iova + off in self.pages:
                for page in done:
                    del self.pages[page]
                return -EEXIST
            self.pages[iova + off] = (paddr + off, prot)
            done.append(iova + off)
        return 0

    def unmap(self, iova: int, size: int) -> int:
        if (iova | size) % self.page:
            return 0
        for off in range(0, size, self.page):
            if self.pages.pop(iova + off, None) is None:
                return off
        return size

    def iova_to_phys(self, iova: int) -> int:
        entry = self.pages.get(iova - iova % self.page)
        return entry[0] + iova % self.page if entry else 0
