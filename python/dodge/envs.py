"""dodge's game as gymnasium environments: Dodge-v0 (one game) and its batched vector env.

The keyword arguments are the keys of a config's ``env:`` section (same names, defaults, ranges
and checks as ``dodge train``); ``config="configs/x.yaml"`` reads that section, keywords override it.
Observations: float32 ``[frame_stack * 65]`` vectors (observation_mode standard), or uint8 images
``[frame_stack * C, H, W]`` (channels first, as PyTorch and SB3's CnnPolicy take them).
"""
from __future__ import annotations

import os
import secrets
from typing import Any, Iterable, Optional

import numpy as np
import gymnasium as gym
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _core

__all__ = ["DodgeEnv", "DodgeVectorEnv", "settings_of", "env_keys", "read_config_env"]

_SEED_LIMIT = 2**64


def env_keys() -> list[tuple[str, str, str]]:
    """(key, default, allowed) of every env key, in the order configs list them."""
    return _core.env_keys()


def read_config_env(path: str | os.PathLike) -> list[tuple[str, Optional[str]]]:
    """The env: section of a dodge YAML config as (key, scalar text) pairs, read as dodge reads it."""
    try:
        import yaml
    except ImportError as e:  # pragma: no cover - pyyaml is a declared extra
        raise ImportError("config= needs PyYAML: pip install pyyaml (or dodge[yaml])") from e
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            # BaseLoader keeps every scalar as its text, so that "1e5" or "yes" mean what they mean to dodge.
            root = yaml.load(f, Loader=yaml.BaseLoader)
    except OSError as e:
        raise ValueError(f"{path}: cannot open the config file ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: YAML syntax error: {e}") from None
    if root is None or root == "":
        return []
    if not isinstance(root, dict):
        raise ValueError(f"{path}: the top level must be a map of sections (env, sac, train)")
    env = root.get("env")
    if env is None or env == "":
        return []
    if not isinstance(env, dict):
        raise ValueError(f"{path}: section env must be a map of keys")
    out = []
    for key, value in env.items():
        if isinstance(value, (dict, list)):
            raise ValueError(f"{path}: env.{key} must be a scalar, got {value!r}")
        out.append((key, None if value in ("", "~", "null", "Null", "NULL") else value))
    return out


def _text(key: str, value: Any) -> Optional[str]:
    """A keyword argument as the scalar text a YAML config would hold."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return value
    raise ValueError(f"{key} = {value!r} is not allowed; allowed: a number, a string, a bool or None, as in a config")


def settings_of(config: str | os.PathLike | None, keys: dict[str, Any]) -> list[tuple[str, Optional[str]]]:
    """The (key, text) settings for the core: the config's env section, then the keyword arguments."""
    if "n_envs" in keys:
        raise ValueError("n_envs is not a keyword of the Python envs: give num_envs to gymnasium.make_vec")
    settings = [(k, v) for k, v in read_config_env(config) if k != "n_envs"] if config is not None else []
    settings += [(k, _text(k, v)) for k, v in keys.items()]
    return settings


def _spaces(core: "_core.Core") -> tuple[spaces.Box, spaces.Box]:
    shape = tuple(core.obs_shape)
    if core.image:
        obs = spaces.Box(0, 255, shape, np.uint8)
    else:
        obs = spaces.Box(-np.inf, np.inf, shape, np.float32)
    return obs, spaces.Box(-1.0, 1.0, (core.action_dim,), np.float32)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < _SEED_LIMIT:
        raise ValueError(f"seed = {seed!r} is not allowed; allowed: an integer in [0, 2**64) or None")
    return int(seed)


def _fresh_seed() -> int:
    # As gymnasium does for an unseeded first reset: a seed from the OS's entropy.
    return secrets.randbits(63)


def _render_size(size: Any) -> int:
    # Checked when the env is made rather than at its first render(); the renderer's range.
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"render_size = {size!r} is not allowed; allowed: an integer")
    _core.check_image_size("render_size", int(size))
    return int(size)


class DodgeEnv(gym.Env):
    """One dodge game as a ``gymnasium.Env`` (``gymnasium.make("Dodge-v0", **env_keys)``).

    ``reset(seed=s)`` plays the episodes of game 0 of ``dodge train --seed s`` (and of ``dodge
    dump-obs --seed s``), in order; resets without a seed continue that sequence.
    ``render_mode="rgb_array"`` draws the court in RGB, ``[render_size, render_size, 3]``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, render_mode: Optional[str] = None, config: str | os.PathLike | None = None,
                 render_size: int = 256, **keys: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode = {render_mode!r} is not allowed; allowed: None | 'rgb_array'")
        self._core = _core.Core(settings_of(config, keys), 1, 1, "disabled")
        self.observation_space, self.action_space = _spaces(self._core)
        self.render_mode = render_mode
        self.render_size = _render_size(render_size)
        self.metadata = dict(self.metadata, render_fps=self._core.agent_hz)
        self._seeded = False
        self._needs_reset = True
        self._dim = self._core.action_dim

    @property
    def settings(self) -> dict[str, str]:
        """Every env key's value, as a config would write it."""
        return dict(self._core.settings())

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            self._core.reseed(0, _check_seed(seed) if seed is not None else _fresh_seed(), 0)
            self._seeded = True
        # Copies made in the core, under its lock: a view could be rewritten by another thread's step.
        obs = self._core.reset(None, True)
        self._needs_reset = False
        return obs[0], {}

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError("Dodge-v0: call reset() before step() (the episode has ended or not begun)")
        a = np.asarray(action)
        if a.shape != (self._dim,):
            raise ValueError(f"action must have shape ({self._dim},), got {a.shape}")
        obs, rew, term, trunc, _ = self._core.step(a.reshape(1, self._dim), True)
        terminated, truncated = bool(term[0]), bool(trunc[0])
        self._needs_reset = terminated or truncated
        return obs[0], float(rew[0]), terminated, truncated, {}

    def render(self):
        if self.render_mode == "rgb_array":
            return self._core.render_rgb(0, self.render_size, self.render_size)
        return None


def _autoreset_mode(mode: Any) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    try:
        return AutoresetMode(mode)
    except ValueError:
        raise ValueError(f"autoreset_mode = {mode!r} is not allowed; allowed: "
                         "AutoresetMode.NEXT_STEP | SAME_STEP | DISABLED (or 'NextStep', 'SameStep', 'Disabled')") from None


_CORE_MODE = {AutoresetMode.NEXT_STEP: "next_step", AutoresetMode.SAME_STEP: "same_step",
              AutoresetMode.DISABLED: "disabled"}


class DodgeVectorEnv(VectorEnv):
    """N dodge games stepped together in C++ (``gymnasium.make_vec("Dodge-v0", num_envs=N, **env_keys)``).

    - Autoreset as gymnasium 1.x defines it: ``NEXT_STEP`` (default), ``SAME_STEP`` (with
      ``final_obs``/``final_info``) or ``DISABLED`` (reset with ``options={"reset_mask": m}``).
    - ``copy=True`` (default) returns new arrays each step; ``copy=False`` returns views of the
      env's own buffers, **overwritten by the next step or reset** (no copy: ``torch.from_numpy``
      costs nothing).
    - Seeds: ``reset(seed=s)`` plays, in env i, the episodes of game i of ``dodge train --seed s``
      (``dodge eval --seed s`` plays the same); ``reset(seed=[s0, s1, ...])`` plays in env i what
      ``Dodge-v0`` reset with seed s_i plays (game 0 of s_i), as gymnasium's SyncVectorEnv does; a
      None in the list leaves that env's sequence going. The thread count never changes them.
    - ``threads``: 0 (default) uses one thread below 64 envs, else every core, as ``dodge train``.
    - One env used from several Python threads: each call is whole (a lock per env; calls wait their
      turn). ``copy=False`` views are shared by those threads: each step rewrites them.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, num_envs: int = 1, *, config: str | os.PathLike | None = None,
                 autoreset_mode: Any = AutoresetMode.NEXT_STEP, copy: bool = True, threads: int = 0,
                 render_mode: Optional[str] = None, render_size: int = 256, **keys: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode = {render_mode!r} is not allowed; allowed: None | 'rgb_array'")
        mode = _autoreset_mode(autoreset_mode)
        if isinstance(num_envs, (bool, np.bool_)) or not isinstance(num_envs, (int, np.integer)):
            raise ValueError(f"num_envs = {num_envs!r} is not allowed; allowed: an integer in [1, 65536]")
        self._core = _core.Core(settings_of(config, keys), int(num_envs), int(threads), _CORE_MODE[mode])
        self.num_envs = int(num_envs)
        self.single_observation_space, self.single_action_space = _spaces(self._core)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = dict(self.metadata, autoreset_mode=mode, render_fps=self._core.agent_hz)
        self.autoreset_mode = mode
        self.render_mode = render_mode
        self.render_size = _render_size(render_size)
        self.copy = bool(copy)
        self._seeded = False
        self._same_step = mode == AutoresetMode.SAME_STEP
        self._disabled = mode == AutoresetMode.DISABLED
        self._ended = np.zeros(self.num_envs, dtype=bool)  # DISABLED: envs that must be reset first

    @property
    def threads(self) -> int:
        return self._core.threads

    @property
    def settings(self) -> dict[str, str]:
        """Every env key's value, as a config would write it."""
        return dict(self._core.settings())

    def reset(self, *, seed: int | Iterable[Optional[int]] | None = None, options: Optional[dict] = None):
        n = self.num_envs
        mask = None
        if options:
            unknown = set(options) - {"reset_mask"}
            if unknown:
                raise ValueError(f"options: unknown key(s) {sorted(unknown)}; allowed: reset_mask")
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != np.bool_ or mask.shape != (n,):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({n},), got {mask.dtype} {mask.shape}")
        chosen = np.ones(n, dtype=bool) if mask is None else mask
        if seed is None:
            if not self._seeded:
                s = _fresh_seed()
                for i in range(n):
                    self._core.reseed(i, s, i)
        elif isinstance(seed, (int, np.integer)):
            s = _check_seed(seed)
            for i in np.flatnonzero(chosen):
                self._core.reseed(int(i), s, int(i))
        else:
            if not isinstance(seed, (list, tuple, np.ndarray)):
                _check_seed(seed)  # raises: neither an integer nor a list
            seed = list(seed)
            if len(seed) != n:
                raise ValueError(f"seed: a list of {len(seed)} seeds for {n} envs")
            if not self._seeded and any(s is None for s in seed):
                raise ValueError("seed: the first reset needs a seed for every env (or seed=None)")
            checked = [None if s is None else _check_seed(s) for s in seed]
            for i in np.flatnonzero(chosen):
                if checked[i] is not None:
                    self._core.reseed(int(i), checked[i], 0)
        obs = self._core.reset(mask, self.copy)
        self._seeded = True
        if mask is None:
            self._ended[:] = False
        else:
            self._ended[mask] = False
        return obs, {}

    def step(self, actions):
        if not isinstance(actions, np.ndarray):
            actions = np.asarray(actions)
        if self._disabled and self._ended.any():
            envs = np.flatnonzero(self._ended).tolist()
            raise RuntimeError(f"autoreset_mode DISABLED: envs {envs} have ended; reset them first with "
                               "reset(options={'reset_mask': mask})")
        # The ends come with the step (not from later calls), so they are this step's under threads too.
        obs, rew, term, trunc, ends = self._core.step(actions, self.copy)
        if ends is None:
            return obs, rew, term, trunc, {}
        ended = np.zeros(self.num_envs, dtype=bool)
        ended[[e[0] for e in ends]] = True
        info: dict[str, Any] = {}
        if self._same_step:
            final_obs = np.full(self.num_envs, None, dtype=object)
            for env, *_, last in ends:
                final_obs[env] = last
            info = {"final_obs": final_obs, "_final_obs": ended, "final_info": {}, "_final_info": ended.copy()}
        elif self._disabled:
            self._ended |= ended
        return obs, rew, term, trunc, info

    def render(self):
        if self.render_mode == "rgb_array":
            return tuple(self._core.render_rgb(i, self.render_size, self.render_size) for i in range(self.num_envs))
        return None

    def episodes_finished(self) -> list[tuple[int, float, int, bool, bool]]:
        """The episodes that ended in the last step, in envs not reset since: (env, return, length,
        terminated, truncated)."""
        return self._core.finished()
