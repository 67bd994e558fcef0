"""Repo-only alias of :mod:`iommu_spec.cli`, for ``python -m cli.main`` run from the clone.

Not installed (pyproject.toml's ``packages.find`` leaves it out), so
site-packages gets no generic ``cli`` module.  tests/test_linuxpt_build.py
still runs ``python -m cli.main``; remove this directory once it runs
``python -m iommu_spec``.
"""
