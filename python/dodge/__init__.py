"""dodge: the dodgeball game of the dodge trainer as gymnasium environments, stepped in C++.

    import gymnasium as gym
    import dodge  # registers Dodge-v0 (or use gym.make("dodge:Dodge-v0"))

    env = gym.make("Dodge-v0", level=1)                         # one game, a gymnasium.Env
    envs = gym.make_vec("Dodge-v0", num_envs=256, level=1)      # 256 games stepped together in C++

Keyword arguments are the keys of a dodge config's env: section; config="configs/x.yaml" reads it.
For Stable-Baselines3, dodge.sb3.DodgeVecEnv is an SB3 VecEnv over the same games.
"""
import gymnasium as _gym

from ._core import Core  # noqa: F401  (the native part, for tools)
from .envs import DodgeEnv, DodgeVectorEnv, env_keys, read_config_env, settings_of

__all__ = ["DodgeEnv", "DodgeVectorEnv", "env_keys", "read_config_env", "settings_of", "ENV_ID"]
__version__ = "0.1.0"

ENV_ID = "Dodge-v0"

if ENV_ID not in _gym.registry:
    _gym.register(id=ENV_ID, entry_point="dodge.envs:DodgeEnv", vector_entry_point="dodge.envs:DodgeVectorEnv")
