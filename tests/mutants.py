"""Deliberately broken implementations: each plants one bug class the tester must catch.

They live here, not in impls/, because they exist to prove the tester has teeth.
"""

from impls import Pgsize


class NoRollback(Pgsize):
    """pgsize with the rollback of a failed map removed (the bug class "wrong rollback")."""

    name = "pgsize-no-rollback"

    def rollback(self, iova, mapped):
        pass
