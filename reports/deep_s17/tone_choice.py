"""research.default_path_choice with the tone-curve anchor patched in (tone_experiment.py)."""
import sys
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("tone_experiment", Path(__file__).with_name("tone_experiment.py"))
spec.loader.exec_module(importlib.util.module_from_spec(spec))  # patches the covariance target
from research import default_path_choice  # noqa: E402

sys.argv = ["default_path_choice"] + sys.argv[1:]
default_path_choice.main()
