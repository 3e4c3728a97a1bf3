"""`python -m flowstyle` (also what `torchrun -m flowstyle train` runs)."""

import sys

from .cli import main

sys.exit(main())
