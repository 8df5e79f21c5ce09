"""dodge: the dodgeball game of the dodge trainer as gymnasium environments, stepped in C++.

    import gymnasium as gym
    import dodge  # registers Dodge-v0 (or use gym.make("dodge:Dodge-v0"))

    env = gym.make("Dodge-v0", level=1)                         # one game, a gymnasium.Env
    envs = gym.make_vec("Dodge-v0", num_envs=256, level=1)      # 256 games stepped together in C++

Keyword arguments are the keys of a dodge config's env: section; config="configs/x.yaml" reads it.
For Stable-Baselines3, dodge.sb3.DodgeVecEnv is an SB3 VecEnv over the same games.
"""
# The environments (and the native part they step) load on first use, so that the tuner
# (dodge.tune, dodge.trials: they only launch the dodge binary) runs from a checkout without the
# native part built, and with the standard library and its own extra only.
_LAZY = {"Core": "._core", "DodgeEnv": ".envs", "DodgeVectorEnv": ".envs", "env_keys": ".envs",
         "read_config_env": ".envs", "settings_of": ".envs"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'dodge' has no attribute {name!r}")


__all__ = ["DodgeEnv", "DodgeVectorEnv", "env_keys", "read_config_env", "settings_of", "ENV_ID"]
__version__ = "0.2.0"

ENV_ID = "Dodge-v0"

try:
    import gymnasium as _gym
except ImportError:  # the tuner's install without gymnasium: nothing to register
    _gym = None
if _gym is not None and ENV_ID not in _gym.registry:
    _gym.register(id=ENV_ID, entry_point="dodge.envs:DodgeEnv", vector_entry_point="dodge.envs:DodgeVectorEnv")
