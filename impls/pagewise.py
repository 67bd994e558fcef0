"""``pagewise``: the 2011 baseline.

One minimum-size page per driver call, and an IOTLB invalidation after each
page unmapped: what drivers did before ranges and batching.  It uses only the
smallest page size, so its ``pgsize_bitmap`` is that one size and the model
is held to it.
"""

from .core import Core


class Pagewise(Core):
    name = "pagewise"
    core = "map"  # one page per driver call (spec rule CORE_BATCHES)
    sync_on_map = False  # it invalidates every page instead

    def used_bitmap(self) -> int:
        bitmap = self.profile.pgsize_bitmap
        return bitmap & -bitmap

    def next_pages(self, iova, paddr, size):
        return self.min_pagesz, 1

    def after_driver_map(self, iova, size) -> None:
        self._invalidate_range(iova, size)

    def after_driver_unmap(self, gather) -> None:
        gather.flush()  # invalidate each page as soon as it is unmapped
