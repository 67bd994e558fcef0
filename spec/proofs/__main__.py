"""``python -m spec.proofs``: see :func:`spec.proofs.main`."""

import sys

from . import main

sys.exit(main())
