"""Dodge-v0, the single env: the checkers of gymnasium and SB3, keys and values as dodge checks
them, bad actions, rendering."""
import os
import pathlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dodge

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("keys", [
    {"level": 1},
    {"level": 2, "observation_mode": "with_thrower", "action_space_type": "full_6d"},
    {"observation_mode": "topdown", "frame_stack": 3, "image_width": 48, "image_height": 48},
    {"observation_mode": "topdown", "image_grayscale": False, "image_width": 36, "image_height": 40},
])
def test_gymnasium_and_sb3_checkers_pass(keys):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env
    env = gym.make("Dodge-v0", **keys)
    check_env(env.unwrapped, skip_render_check=False)
    sb3_check_env(dodge.DodgeEnv(**keys), warn=False)
    # check_env's render check needs a render_mode: the rgb_array frames are checked too.
    check_env(dodge.DodgeEnv(render_mode="rgb_array", **keys))


def test_spaces_follow_the_keys():
    env = dodge.DodgeEnv(level=1)
    assert env.observation_space.shape == (65,) and env.observation_space.dtype == np.float32
    assert env.action_space.shape == (3,) and env.action_space.dtype == np.float32
    env = dodge.DodgeEnv(observation_mode="topdown", frame_stack=4, image_width=84, image_height=64)
    assert env.observation_space.shape == (4, 64, 84) and env.observation_space.dtype == np.uint8
    env = dodge.DodgeEnv(observation_mode="topdown", image_grayscale=False, frame_stack=2)
    assert env.observation_space.shape == (6, 84, 84)
    assert dodge.DodgeEnv(action_space_type="tilt_5d").action_space.shape == (5,)
    assert dodge.DodgeEnv(observation_mode="with_thrower").observation_space.shape[0] > 65


@pytest.mark.parametrize("keys, message", [
    ({"level": 3}, "env.level = 3 is not allowed; allowed: an integer in [1, 2]"),
    ({"levle": 1}, "unknown key levle; did you mean level?"),
    ({"image_width": 8}, "env.image_width = 8 is not allowed; allowed: an integer in [16, 512]"),
    ({"image_width": 84.5}, "env.image_width must be an integer"),
    ({"image_grayscale": "maybe"}, "env.image_grayscale must be true or false"),
    ({"grey_palette": "lumen"}, "env.grey_palette = lumen is not allowed; allowed: luma | contrast"),
    ({"spawn_angle_degrees": float("nan")}, "env.spawn_angle_degrees = nan is not allowed"),
    ({"frame_skip": True}, "env.frame_skip must be an integer"),
    ({"level": [1]}, "level = [1] is not allowed"),
    ({"n_envs": 4}, "give num_envs to gymnasium.make_vec"),
])
def test_bad_keys_and_values_raise_value_error_naming_them(keys, message):
    with pytest.raises(ValueError) as e:
        gym.make("Dodge-v0", **keys)
    assert message in str(e.value)


def test_values_read_as_dodge_reads_them():
    env = dodge.DodgeEnv(max_episode_steps=1e3, image_grayscale="yes", projectile_spawn_interval=None,
                         spawn_angle_degrees=np.float32(30), frame_skip=np.int64(2))
    s = env.settings
    assert s["max_episode_steps"] == "1000" and s["image_grayscale"] == "true"
    assert s["projectile_spawn_interval"] == "null" and s["spawn_angle_degrees"] == "30.0" and s["frame_skip"] == "2"
    # Every key has dodge's default unless given.
    defaults = {k: d for k, d, _ in dodge.env_keys()}
    assert dodge.DodgeEnv().settings == {k: v for k, v in defaults.items()}


def test_config_file_reads_the_env_section_and_keywords_override_it(tmp_path):
    env = dodge.DodgeEnv(config=ROOT / "configs" / "sac_pixels_cpu.yaml")
    s = env.settings
    assert s["observation_mode"] == "topdown" and s["frame_skip"] == "4" and s["max_episode_steps"] == "250"
    assert env.observation_space.shape[0] == int(s["frame_stack"])
    assert dodge.DodgeEnv(config=ROOT / "configs" / "quickstart.yaml", level=2).settings["level"] == "2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("env:\n  level: 3\n")
    with pytest.raises(ValueError, match=r"env.level = 3 is not allowed"):
        dodge.DodgeEnv(config=bad)
    with pytest.raises(ValueError, match="cannot open the config file"):
        dodge.DodgeEnv(config=tmp_path / "missing.yaml")
    (tmp_path / "syntax.yaml").write_text("env: [level: 1\n")
    with pytest.raises(ValueError, match="YAML syntax error"):
        dodge.DodgeEnv(config=tmp_path / "syntax.yaml")


@pytest.mark.parametrize("action, error, message", [
    (np.array([np.nan, 0, 0], np.float32), ValueError, "nan"),
    (np.array([0, 1.5, 0], np.float32), ValueError, "is not in [-1, 1]"),
    (np.zeros(4, np.float32), ValueError, "shape (3,)"),
    (np.zeros(3, np.int64), TypeError, "float32 or float64"),
])
def test_bad_actions_raise_and_never_reach_the_game(action, error, message):
    env = dodge.DodgeEnv(level=1)
    obs0, _ = env.reset(seed=1)
    with pytest.raises(error) as e:
        env.step(action)
    assert message in str(e.value)
    # The game did not move: the next good step is the first step of the episode.
    ref = dodge.DodgeEnv(level=1)
    ref.reset(seed=1)
    a = np.array([0.5, -0.5, 0.0], np.float32)
    assert np.array_equal(env.step(a)[0], ref.step(a)[0])


def test_float64_actions_are_the_same_actions():
    a32, a64 = dodge.DodgeEnv(level=1), dodge.DodgeEnv(level=1)
    a32.reset(seed=4)
    a64.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.uniform(-1, 1, 3).astype(np.float32)
        assert np.array_equal(a32.step(a)[0], a64.step(a.astype(np.float64))[0])


def test_step_after_the_end_asks_for_reset():
    env = dodge.DodgeEnv(level=1, max_episode_steps=3)
    env.reset(seed=0)
    for _ in range(3):
        _, _, terminated, truncated, _ = env.step(np.zeros(3, np.float32))
    assert truncated and not terminated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, np.float32))


def test_same_seed_same_episodes_different_seed_different():
    def episode(seed):
        env = dodge.DodgeEnv(level=2)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(100):
            obs, r, term, trunc, _ = env.step(np.array([0.3, -0.2, 0.0], np.float32))
            out.append(np.append(obs, r))
            if term or trunc:
                break
        return np.concatenate(out)
    assert np.array_equal(episode(3), episode(3))
    assert not np.array_equal(episode(3), episode(4))


def test_unseeded_resets_continue_the_seeded_sequence():
    a, b = dodge.DodgeEnv(level=2), dodge.DodgeEnv(level=2)
    a.reset(seed=9)
    second_a = a.reset()[0]
    b.reset(seed=9)
    assert np.array_equal(b.reset()[0], second_a)
    # Two unseeded envs draw different seeds.
    c, d = dodge.DodgeEnv(level=2), dodge.DodgeEnv(level=2)
    def first_steps(env):
        out = [env.reset()[0]]
        for _ in range(60):
            obs, _, term, trunc, _ = env.step(np.zeros(3, np.float32))
            out.append(obs)
            if term or trunc:
                break
        return np.concatenate(out)
    sc, sd = first_steps(c), first_steps(d)
    assert sc.shape != sd.shape or not np.array_equal(sc, sd)


def test_rgb_array_render_draws_the_court():
    env = dodge.DodgeEnv(render_mode="rgb_array", render_size=128)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8
    # The background colour (30, 30, 40) and the player's (50, 150, 255) are both there.
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert (30, 30, 40) in colours and (50, 150, 255) in colours


@pytest.mark.parametrize("size", [15, 513, 0, -1, 4096])
def test_render_size_out_of_range_raises_value_error_naming_it(size):
    # The rgb_array frames have the observation images' size range (env.image_width / image_height),
    # checked when the env is made, not at its first render().
    allowed = r"is not allowed; allowed: an integer in \[16, 512\]"
    for make in (dodge.DodgeEnv, lambda **k: dodge.DodgeVectorEnv(2, **k)):
        with pytest.raises(ValueError, match=rf"^render_size = {size} {allowed}$"):
            make(render_mode="rgb_array", render_size=size)
    env = dodge.DodgeEnv(render_mode="rgb_array")
    env.reset(seed=0)
    core = env._core
    with pytest.raises(ValueError, match=rf"width = {size} {allowed}"):
        core.render_rgb(0, size, 64)
    with pytest.raises(ValueError, match=rf"height = {size} {allowed}"):
        core.render_rgb(0, 64, size)
    assert core.render_rgb(0, 16, 512).shape == (512, 16, 3)


def test_module_prefixed_id_and_registration():
    # gymnasium imports the package itself for "dodge:Dodge-v0"; importing dodge registers both entry points.
    env = gym.make("dodge:Dodge-v0", level=1)
    assert isinstance(env.unwrapped, dodge.DodgeEnv)
    spec = gym.spec("Dodge-v0")
    assert spec.entry_point == "dodge.envs:DodgeEnv" and spec.vector_entry_point == "dodge.envs:DodgeVectorEnv"
    assert spec.max_episode_steps is None  # the game truncates itself (max_episode_steps is an env key)
