"""``python -m demos.doctor``: the same pre-flight as ``python -m demos doctor``."""

import sys

from demos.doctor import main

sys.exit(main())
