"""``python -m nst.cli ...`` is ``nst ...``."""

import sys

from . import main

sys.exit(main())
