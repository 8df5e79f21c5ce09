"""What every part of the tuner shares: its exit codes and messages, and dotted config keys."""
import math  # noqa: F401

from . import space as tune_space

NOWHERE = "/dev/null/dodge-tune-check"
DIST_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE")
OBJECTIVES = ("return", "time", "return,time")
SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("median", "percentile", "hyperband", "halving", "none")
MAX_ATTEMPTS = 3  # a trial stopped by a signal or a dead worker is retried with its values this often
POLL = 0.5
FAILURES_IN_A_ROW = 5  # then the worker stops (exit 1): a space or a machine that cannot train


class Exit(Exception):
    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = code
        self.message = message


def fail(message, code=2):
    raise Exit(code, message)


def say(message):
    print(f"tune: {message}", flush=True)


def set_of(key, value):
    return f"{key}={tune_space.set_text(value)}"


def dotted_set(d, key, value):
    parts = key.split(".")
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = value


def dotted_get(d, key, default=None):
    for p in key.split("."):
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def as_number(v, default=None):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default

