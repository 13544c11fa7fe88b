"""Loaded first by pytest, before any notebook kernel starts (kernels inherit this environment).

Progress bars are for people waiting at a notebook; under test they would only add output
that differs from run to run, so they are turned off here (see demos.harness.progress).
"""

import os

os.environ["DEMOS_NO_PROGRESS"] = "1"
