"""The ``iommu-spec`` command line."""
