"""Behaviour pin: a fixed tiny model's stylize outputs must stay what they were (to a few ulp).

The models and outputs in tests/pinned/ were written before the package was restructured
(`python -m tests.pinned_cases`); any refactor must leave them unchanged. A change that is meant
to alter outputs regenerates them in its own commit and says why.

The comparison runs in a fresh process: oneDNN kernels chosen earlier in a long test session
(e.g. after bf16 autocast runs) can move float32 results by an ulp (~5e-7), which says nothing
about the code under test. Another CPU instruction set moves them by an ulp or two as well
(`pinned_cases.TOLERANCE`); same machine, same process kind: bit for bit in practice.
"""

import subprocess
import sys
from pathlib import Path


def test_pinned_outputs_are_unchanged():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "tests.pinned_cases", "--check"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
