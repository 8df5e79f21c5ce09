"""Stable-Baselines3 over dodge's vector env: ``SAC("MlpPolicy", DodgeVecEnv(16, level=1))``.

An SB3 ``VecEnv`` (not a gymnasium one): same-step autoreset with ``infos[i]["terminal_observation"]``
and ``infos[i]["TimeLimit.truncated"]`` as SB3 expects, ``infos[i]["episode"]`` ({"r", "l", "t"},
as SB3's Monitor writes it) at each episode's end, so ``rollout/ep_rew_mean`` is logged without a
wrapper. ``model.set_random_seed(s)`` / ``env.seed(s)`` seeds env i with s + i, as SB3's
DummyVecEnv of ``Dodge-v0`` envs would (env i plays game 0 of seed s + i).
"""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from . import _core
from .envs import _spaces, _check_seed, _fresh_seed, settings_of


class DodgeVecEnv(VecEnv):
    """N dodge games for SB3. Observations are copies (SB3 keeps them in its buffers)."""

    def __init__(self, num_envs: int = 1, *, config=None, threads: int = 0, **keys: Any):
        self._core = _core.Core(settings_of(config, keys), int(num_envs), int(threads), "same_step")
        self.render_mode = None
        observation_space, action_space = _spaces(self._core)
        super().__init__(int(num_envs), observation_space, action_space)
        self._actions: Optional[np.ndarray] = None
        self._seeded = False
        self._t0 = time.time()

    def reset(self) -> np.ndarray:
        given = [s for s in self._seeds if s is not None]
        if given:
            for i, s in enumerate(self._seeds):
                if s is not None:
                    self._core.reseed(i, _check_seed(s), 0)
        elif not self._seeded:
            s = _fresh_seed()
            for i in range(self.num_envs):
                self._core.reseed(i, s, i)
        self._seeded = True
        self._reset_seeds()
        self._reset_options()
        return self._core.reset(None, True)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        actions = np.asarray(self._actions)
        if actions.ndim == 1:  # SB3 hands a flat array for a one-dimensional action space only
            actions = actions.reshape(self.num_envs, -1)
        obs, rewards, terminated, truncated, ends = self._core.step(actions, True)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if ends is not None:
            t = round(time.time() - self._t0, 6)
            for env, ret, length, term, trunc, final_obs in ends:
                infos[env]["terminal_observation"] = final_obs
                infos[env]["TimeLimit.truncated"] = bool(trunc and not term)
                infos[env]["episode"] = {"r": ret, "l": length, "t": t}
        return obs, rewards, dones, infos

    def close(self) -> None:
        pass

    def get_images(self) -> Sequence[Optional[np.ndarray]]:
        return [self._core.render_rgb(i, 256, 256) for i in range(self.num_envs)]

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        if attr_name == "render_mode":
            return [None for _ in self._indices(indices)]
        if not hasattr(self, attr_name):
            raise AttributeError(f"DodgeVecEnv has no attribute {attr_name!r}")
        return [getattr(self, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise AttributeError(f"DodgeVecEnv: the games' settings are fixed at creation ({attr_name!r})")

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        raise AttributeError(f"DodgeVecEnv: the games have no Python methods ({method_name!r})")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._indices(indices)]
