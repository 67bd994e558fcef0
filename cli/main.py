"""``python -m cli.main``: the ``iommu-spec`` command (see :mod:`cli`; use ``python -m iommu_spec``)."""
import sys

from iommu_spec.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
