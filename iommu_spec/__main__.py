"""``python -m iommu_spec``: the ``iommu-spec`` command."""
import sys

from iommu_spec.cli.main import main

sys.exit(main())
