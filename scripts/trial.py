#!/usr/bin/env python3
"""The seeds harness (python -m dodge.trials, docs/tuning.md) from this checkout, with its build/dodge."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DODGE_BINARY", os.path.join(ROOT, "build", "dodge"))

from dodge.trials import main  # noqa: E402

sys.exit(main())
