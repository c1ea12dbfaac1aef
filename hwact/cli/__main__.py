"""``python -m hwact.cli``: the same as the ``hwact`` console script."""

import sys

from . import main

sys.exit(main())
