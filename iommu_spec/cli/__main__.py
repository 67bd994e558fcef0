import sys

from iommu_spec.cli.main import main

sys.exit(main())
