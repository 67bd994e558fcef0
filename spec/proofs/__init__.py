"""Machine-checked properties of the page-size selection in :mod:`spec.pgsize`.

``python -m spec.proofs`` (or ``iommu-spec prove``) uses z3 to prove, over
64-bit bit-vectors and for every ``pgsize_bitmap``, that the very function the
model runs -- :func:`spec.pgsize.pgsize_and_count`, handed z3 values -- is
sound, maximal, counts its pages as Linux's ``iommu_pgsize`` does, keeps the
core's map and unmap loops on an inductive invariant, refines the older
one-page-per-step loop and tiles a range with the fewest pages.  It also
shows each precondition necessary and refutes seeded mutants.  See
docs/proofs.md for what each property means and what "proved" covers.

Public names: :func:`main` (the command line), :func:`run_all` (a
:class:`Report` of :class:`Row` s), :data:`PROPERTIES` and :data:`MUTANTS`.
"""

from .mutants import MUTANTS
from .properties import PROPERTIES
from .report import main
from .runner import Report, Row, run_all

__all__ = ["main", "run_all", "Report", "Row", "PROPERTIES", "MUTANTS"]
