"""Behaviour pin: a fixed tiny model's stylize outputs must stay bit for bit what they were.

The models and outputs in tests/pinned/ were written before the package was restructured
(`python -m tests.pinned_cases`); any refactor must leave them unchanged. A change that is meant
to alter outputs regenerates them in its own commit and says why.

The comparison runs in a fresh process: oneDNN kernels chosen earlier in a long test session
(e.g. after bf16 autocast runs) can move float32 results by an ulp (~5e-7), which says nothing
about the code under test. It runs with torch's kernels capped at AVX2 (`pinned_cases.PINNED_ENV`),
the instruction set the outputs were written with, so AVX-512 machines compare bit for bit too.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.pinned_cases import PINNED_ENV


def test_pinned_outputs_are_unchanged_bit_for_bit():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "tests.pinned_cases", "--check"], cwd=root,
                          capture_output=True, text=True, env={**os.environ, **PINNED_ENV})
    assert proc.returncode == 0, proc.stdout + proc.stderr
