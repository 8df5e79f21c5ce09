"""Stable-Baselines3 on dodge's games: the adapter's contract (terminal observations, time-limit
truncation, episode infos) and short SAC runs with MlpPolicy and CnnPolicy."""
import numpy as np
import pytest

import dodge
from dodge.sb3 import DodgeVecEnv

sb3 = pytest.importorskip("stable_baselines3")

KEYS = {"level": 2, "max_episode_steps": 25, "frame_skip": 2}


def test_same_step_reset_with_terminal_observation_and_time_limit_flag():
    from gymnasium.vector import AutoresetMode
    n = 4
    env = DodgeVecEnv(n, **KEYS)
    # The gymnasium vector env in SAME_STEP mode (which equals SyncVectorEnv's, test_vector.py).
    ref = dodge.DodgeVectorEnv(n, autoreset_mode=AutoresetMode.SAME_STEP, **KEYS)
    env.seed(30)
    obs = env.reset()
    ref_obs, _ = ref.reset(seed=[30, 31, 32, 33])  # SB3's seed(s) gives env i seed s + i
    assert np.array_equal(obs, ref_obs)
    rng = np.random.default_rng(0)
    ends = truncations = 0
    for _ in range(150):
        a = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
        obs, rewards, dones, infos = env.step(a)
        r_obs, r_rew, r_term, r_trunc, r_info = ref.step(a)
        assert np.array_equal(obs, r_obs) and np.array_equal(rewards, r_rew)
        assert np.array_equal(dones, r_term | r_trunc) and dones.dtype == np.bool_
        for i in range(n):
            if dones[i]:
                ends += 1
                assert np.array_equal(infos[i]["terminal_observation"], r_info["final_obs"][i])
                assert not np.array_equal(infos[i]["terminal_observation"], obs[i])
                assert infos[i]["TimeLimit.truncated"] == bool(r_trunc[i] and not r_term[i])
                truncations += infos[i]["TimeLimit.truncated"]
                assert 1 <= infos[i]["episode"]["l"] <= 25
            else:
                assert infos[i] == {}
    assert ends >= 8 and 0 < truncations < ends


def test_sb3_checks_and_attributes():
    from stable_baselines3.common.env_checker import check_env
    from stable_baselines3.common.vec_env import VecMonitor
    env = DodgeVecEnv(2, **KEYS)
    assert env.get_attr("render_mode") == [None, None]
    assert env.env_is_wrapped(object) == [False, False]
    with pytest.raises(AttributeError):
        env.get_attr("no_such_attribute")
    check_env(dodge.DodgeEnv(**KEYS))
    VecMonitor(env).reset()


def test_sac_mlp_policy_runs_and_logs_episodes():
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    class EndsSeen(BaseCallback):
        """Each end's buffer row, env, terminal observation and the next episode's first observation."""

        def __init__(self):
            super().__init__()
            self.ends = []

        def _on_step(self):
            # Called after env.step, before the transition is stored at replay_buffer.pos.
            pos = self.model.replay_buffer.pos
            for i in np.flatnonzero(self.locals["dones"]):
                terminal = self.locals["infos"][i].get("terminal_observation")
                self.ends.append((pos, i, None if terminal is None else terminal.copy(),
                                  self.locals["new_obs"][i].copy()))
            return True

    env = DodgeVecEnv(4, **KEYS)
    model = SAC("MlpPolicy", env, learning_starts=64, batch_size=32, buffer_size=2000, train_freq=1,
                gradient_steps=1, policy_kwargs={"net_arch": [32, 32]}, seed=0, device="cpu")
    seen = EndsSeen()
    model.learn(400, callback=seen)
    assert model.num_timesteps >= 400
    assert len(model.ep_info_buffer) > 0 and all(e["l"] <= 25 for e in model.ep_info_buffer)
    # Terminal observations went into the buffer as next observations of the last transitions, not
    # the next episode's first observations (what SB3 stores where terminal_observation is missing).
    buf = model.replay_buffer
    assert not buf.full and len(seen.ends) >= 8
    for pos, i, terminal, first in seen.ends:
        assert terminal is not None and buf.dones[pos, i]
        assert np.array_equal(buf.next_observations[pos, i], terminal)
        assert not np.array_equal(buf.next_observations[pos, i], first)


def test_sac_cnn_policy_runs_on_channel_first_images():
    from stable_baselines3 import SAC
    env = DodgeVecEnv(2, observation_mode="topdown", image_width=36, image_height=36, frame_stack=2, **KEYS)
    assert env.observation_space.shape == (2, 36, 36)
    model = SAC("CnnPolicy", env, learning_starts=16, batch_size=8, buffer_size=200, train_freq=1,
                gradient_steps=1, policy_kwargs={"net_arch": [16], "features_extractor_kwargs": {"features_dim": 16}},
                seed=0, device="cpu")
    model.learn(60)
    assert model.num_timesteps >= 60
    # SB3 took our channel-first uint8 frames as they are (no transposing wrapper).
    assert type(model.get_env()).__name__ == "DodgeVecEnv"
