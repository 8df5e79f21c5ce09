"""The vector env: gymnasium 1.x's contract, the three autoreset modes (against gymnasium's own
SyncVectorEnv of Dodge-v0, as gymnasium's tests/vector/test_autoreset_mode.py checks its envs),
seeds, copy=False, fork, threads."""
import multiprocessing as mp
import os
import threading
import time
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import dodge

# Short episodes so that every mode meets many ends, some terminated and some truncated.
KEYS = {"level": 2, "max_episode_steps": 40, "frame_skip": 2}
IMAGE_KEYS = {**KEYS, "observation_mode": "topdown", "image_width": 32, "image_height": 32, "frame_stack": 3}


def actions_for(n, steps, dim=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (steps, n, dim)).astype(np.float32)


def test_make_vec_gives_our_vector_env_with_batched_and_single_spaces():
    envs = gym.make_vec("Dodge-v0", num_envs=5, **IMAGE_KEYS)
    assert isinstance(envs, dodge.DodgeVectorEnv)
    assert envs.num_envs == 5 and envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.single_observation_space.shape == (3, 32, 32)
    assert envs.observation_space.shape == (5, 3, 32, 32) and envs.observation_space.dtype == np.uint8
    assert envs.single_action_space.shape == (3,) and envs.action_space.shape == (5, 3)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (5, 3, 32, 32) and obs.dtype == np.uint8 and info == {}
    obs, rew, term, trunc, info = envs.step(envs.action_space.sample())
    assert obs in envs.observation_space
    assert rew.shape == (5,) and rew.dtype == np.float32
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and term.shape == trunc.shape == (5,)
    state = gym.make_vec("Dodge-v0", num_envs=3, level=1)
    o, _ = state.reset(seed=1)
    assert o.shape == (3, 65) and o.dtype == np.float32


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
@pytest.mark.parametrize("keys", [KEYS, IMAGE_KEYS], ids=["state", "image"])
def test_each_autoreset_mode_equals_gymnasiums_sync_vector_env(mode, keys):
    n, steps = 4, 150
    seeds = [11, 12, 13, 14]
    ours = dodge.DodgeVectorEnv(n, autoreset_mode=mode, **keys)
    ref = SyncVectorEnv([lambda: dodge.DodgeEnv(**keys) for _ in range(n)], autoreset_mode=mode)
    assert ours.metadata["autoreset_mode"] == ref.metadata["autoreset_mode"] == mode
    o1, i1 = ours.reset(seed=seeds)
    o2, i2 = ref.reset(seed=seeds)
    assert np.array_equal(o1, o2) and i1 == i2
    ends = 0
    for a in actions_for(n, steps):
        r1, r2 = ours.step(a), ref.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            assert np.array_equal(x, y)
        assert r1[2].dtype == r2[2].dtype and r1[3].dtype == r2[3].dtype
        info1, info2 = r1[4], r2[4]
        assert sorted(info1) == sorted(info2)
        if "final_obs" in info2:
            assert np.array_equal(info1["_final_obs"], info2["_final_obs"])
            assert np.array_equal(info1["_final_info"], info2["_final_info"])
            assert info1["final_info"] == info2["final_info"]
            for f1, f2 in zip(info1["final_obs"], info2["final_obs"]):
                assert (f1 is None and f2 is None) or np.array_equal(f1, f2)
        done = r1[2] | r1[3]
        ends += int(done.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            with pytest.raises(RuntimeError, match="reset them first"):
                ours.step(a)
            o1, _ = ours.reset(options={"reset_mask": done})
            o2, _ = ref.reset(options={"reset_mask": done})
            assert np.array_equal(o1, o2)
    assert ends >= 8  # the comparison met many ends


def test_next_step_autoreset_as_gymnasium_defines_it():
    n = 3
    envs = dodge.DodgeVectorEnv(n, **KEYS)
    envs.reset(seed=5)
    first_obs_of_next_episode = {}
    pending = np.zeros(n, bool)
    for a in actions_for(n, 200, seed=1):
        obs, rew, term, trunc, info = envs.step(a)
        for i in np.flatnonzero(pending):
            # The step after an end: the env was reset, its action ignored, reward 0, both flags false.
            assert rew[i] == 0 and not term[i] and not trunc[i]
            first_obs_of_next_episode.setdefault(i, obs[i].copy())
        pending = term | trunc
    assert first_obs_of_next_episode
    # That observation is the next episode's first: player at rest at the start, no balls.
    for obs in first_obs_of_next_episode.values():
        assert obs[3] == 0 and obs[4] == 0 and np.count_nonzero(obs[5:]) == 0


def test_truncation_is_the_time_limit_termination_a_hit():
    envs = dodge.DodgeVectorEnv(8, level=2, max_episode_steps=30, frame_skip=4)
    envs.reset(seed=2)
    terminated_seen = truncated_seen = False
    for a in actions_for(8, 400, seed=2):
        _, rew, term, trunc, _ = envs.step(a)
        for env, ret, length, t1, t2 in envs.episodes_finished():
            assert t1 == term[env] and t2 == trunc[env]
            if t2 and not t1:
                assert length == 30
                truncated_seen = True
            if t1:  # a hit on the last step is both: not a time-limit end (SB3: TimeLimit.truncated False)
                assert length <= 30 and rew[env] < 0  # the hit's penalty is in the last reward
                terminated_seen = True
    assert terminated_seen and truncated_seen


def run(envs, seed, steps=120, n=None):
    n = n or envs.num_envs
    out = [envs.reset(seed=seed)[0].copy()]
    for a in actions_for(n, steps, seed=7):
        obs, rew, term, trunc, _ = envs.step(a)
        out += [obs.copy(), rew.copy(), term.copy(), trunc.copy()]
    return out


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_seeds_same_identical_different_different_any_thread_count():
    n = 70  # above 64 the default uses every core
    one = dodge.DodgeVectorEnv(n, threads=1, **KEYS)
    two = dodge.DodgeVectorEnv(n, threads=2, **KEYS)
    auto = dodge.DodgeVectorEnv(n, **KEYS)
    assert one.threads == 1 and two.threads == 2
    r1 = run(one, 3)
    assert same(r1, run(two, 3)) and same(r1, run(auto, 3))
    assert same(r1, run(one, 3))
    assert not same(r1, run(one, 4))
    # Env i of seed s plays game i: the envs differ from each other.
    assert not np.array_equal(r1[1][0], r1[1][1])


def test_int_seed_plays_the_games_of_a_run_list_seed_the_single_envs():
    n = 3
    envs = dodge.DodgeVectorEnv(n, **KEYS)
    # A list of seeds: env i plays what Dodge-v0 reset with seed s_i plays.
    obs, _ = envs.reset(seed=[21, 22, 23])
    for i, s in enumerate([21, 22, 23]):
        single = dodge.DodgeEnv(**KEYS)
        assert np.array_equal(obs[i], single.reset(seed=s)[0])
    # An int seed: env 0 plays game 0 of the seed, which is Dodge-v0's game for that seed.
    a = actions_for(n, 30, seed=3)
    envs.reset(seed=21)
    single = dodge.DodgeEnv(**KEYS)
    single.reset(seed=21)
    for step in a:
        obs, *_ = envs.step(step)
        so, _, t1, t2, _ = single.step(step[0])
        assert np.array_equal(obs[0], so)
        if t1 or t2:
            break
    # None in a list leaves that env's sequence going.
    envs.reset(seed=[1, 2, 3])
    ref = dodge.DodgeVectorEnv(n, **KEYS)
    ref.reset(seed=[1, 2, 3])
    o1, _ = envs.reset(seed=[None, 2, None])
    o2, _ = ref.reset()
    assert np.array_equal(o1[0], o2[0]) and np.array_equal(o1[2], o2[2])


def test_bad_seeds_and_options_raise():
    envs = dodge.DodgeVectorEnv(2, **KEYS)
    for seed, message in [(-1, "seed = -1"), (2**64, "seed ="), ([1], "a list of 1 seeds for 2 envs"),
                          (1.5, "seed")]:
        with pytest.raises((ValueError, TypeError), match=message):
            envs.reset(seed=seed)
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": np.array([1, 0])})
    with pytest.raises(ValueError, match="allowed: reset_mask"):
        envs.reset(options={"mask": np.array([True, False])})


@pytest.mark.parametrize("actions, error, message", [
    (np.zeros((2, 3), np.int32), TypeError, "float32 or float64"),
    (np.zeros((3, 3), np.float32), ValueError, "shape (2, 3)"),
    (np.zeros(6, np.float32), ValueError, "shape (2, 3)"),
    (np.array([[0, 0, 0], [0, np.nan, 0]], np.float32), ValueError, "env 1"),
    (np.array([[0, 0, 0], [0, 0, -2]], np.float64), ValueError, "is not in [-1, 1]"),
])
def test_bad_actions_raise_before_any_game_moves(actions, error, message):
    envs = dodge.DodgeVectorEnv(2, **KEYS)
    ref = dodge.DodgeVectorEnv(2, **KEYS)
    envs.reset(seed=0)
    ref.reset(seed=0)
    with pytest.raises(error) as e:
        envs.step(actions)
    assert message in str(e.value)
    a = np.full((2, 3), 0.25, np.float32)
    assert np.array_equal(envs.step(a)[0], ref.step(a)[0])


def test_copy_false_hands_out_views_overwritten_by_the_next_step():
    envs = dodge.DodgeVectorEnv(4, copy=False, **IMAGE_KEYS)
    copied = dodge.DodgeVectorEnv(4, **IMAGE_KEYS)
    obs0, _ = envs.reset(seed=8)
    c0, _ = copied.reset(seed=8)
    kept = obs0.copy()
    a = actions_for(4, 5, seed=8)
    obs1, rew1, *_ = envs.step(a[0])
    c1, crew1, *_ = copied.step(a[0])
    # The same memory every step, now holding step 1; the copies keep what they were given.
    assert np.shares_memory(obs0, obs1) and np.array_equal(obs0, obs1)
    assert not np.array_equal(obs0, kept) and np.array_equal(c0, kept)
    assert np.array_equal(obs1, c1) and np.array_equal(rew1, crew1)
    obs2, rew2, *_ = envs.step(a[1])
    assert np.shares_memory(rew1, rew2)
    assert not np.shares_memory(c1, copied.step(a[1])[0])
    import torch
    t = torch.from_numpy(obs2)  # no copy, no warning
    assert t.data_ptr() == obs2.__array_interface__["data"][0]


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_a_reset_clears_the_last_steps_episode_ends(mode):
    # finished() / final_obs() tell the last step's ends: an env reset since has none (no stale episode).
    n = 4
    # Level 1's balls rarely hit within 10 steps: the envs end together, at the time limit.
    envs = dodge.DodgeVectorEnv(n, autoreset_mode=mode, **dict(KEYS, level=1, max_episode_steps=10))
    core = envs._core
    envs.reset(seed=3)
    for a in actions_for(n, 20, seed=3):
        _, _, term, trunc, _ = envs.step(a)
        if (term | trunc).any():
            break
    ended = np.flatnonzero(term | trunc).tolist()
    assert len(ended) >= 2 and core.any_ended()
    assert [e[0] for e in envs.episodes_finished()] == ended
    same_step = mode == AutoresetMode.SAME_STEP
    if same_step:
        assert all(core.final_obs(i) is not None for i in ended)
        assert all(core.final_obs(i) is None for i in range(n) if i not in ended)
    # Resetting one of them clears its end only.
    mask = np.zeros(n, bool)
    mask[ended[0]] = True
    envs.reset(options={"reset_mask": mask})
    assert [e[0] for e in envs.episodes_finished()] == ended[1:]
    assert core.any_ended() == (len(ended) > 1)
    if same_step:
        assert core.final_obs(ended[0]) is None
    envs.reset()
    assert envs.episodes_finished() == [] and not core.any_ended()
    if same_step:
        assert all(core.final_obs(i) is None for i in range(n))
    else:
        with pytest.raises(RuntimeError, match="same_step only"):
            core.final_obs(0)


def outcome(result):
    """A step's whole result as bytes, final observations included."""
    obs, rew, term, trunc, info = result
    finals = ()
    if "final_obs" in info:
        finals = tuple((int(i), info["final_obs"][i].tobytes()) for i in np.flatnonzero(info["_final_obs"]))
    return obs.tobytes(), rew.tobytes(), term.tobytes(), trunc.tobytes(), finals


def is_subsequence(part, whole):
    rest = iter(whole)
    return all(any(x == y for y in rest) for x in part)


def run_threads(targets, timeout=300):
    """Runs each target in its own thread; the exceptions they raised, or a failure if one hangs."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread still runs: deadlock?"
    return errors


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_one_env_stepped_from_two_threads_plays_as_one_thread(mode):
    # A lock per env makes each step whole: the two threads' steps, merged, are one thread's steps.
    n, steps = 4, 2000
    a = actions_for(n, 1, seed=9)[0]  # one action for every step: how the threads interleave does not matter
    ref = dodge.DodgeVectorEnv(n, autoreset_mode=mode, threads=2, **KEYS)
    shared = dodge.DodgeVectorEnv(n, autoreset_mode=mode, threads=2, **KEYS)
    ref.reset(seed=9)
    shared.reset(seed=9)
    expected = [outcome(ref.step(a)) for _ in range(2 * steps)]
    got = [[], []]
    done = threading.Event()

    def stepper(out):
        def run():
            for _ in range(steps):
                out.append(outcome(shared.step(a)))
        return run

    def reader():
        # Reads wait for the lock too (with the GIL released, or the steps could not finish).
        while not done.is_set():
            shared._core.render_rgb(0, 16, 16)
            shared.episodes_finished()
            time.sleep(0.001)

    errors = run_threads([stepper(got[0]), stepper(got[1])])
    done.set()
    errors += run_threads([reader])
    assert not errors
    assert len(got[0]) == len(got[1]) == steps
    merged, want = Counter(got[0] + got[1]), Counter(expected)
    differ = sum(((want - merged) + (merged - want)).values())
    assert differ == 0, f"{differ} step results differ from one thread's {2 * steps} steps"
    assert is_subsequence(got[0], expected) and is_subsequence(got[1], expected)
    assert outcome(shared.step(a)) == outcome(ref.step(a))


def test_one_env_stepped_reset_and_rendered_from_threads_keeps_working():
    n = 8
    envs = dodge.DodgeVectorEnv(n, autoreset_mode=AutoresetMode.SAME_STEP, threads=2, **IMAGE_KEYS)
    envs.reset(seed=1)
    a = actions_for(n, 1, seed=1)[0]

    def stepping():
        for _ in range(1000):
            obs, rew, term, trunc, info = envs.step(a)
            assert obs.shape == (n, 3, 32, 32) and rew.shape == (n,)
            if "final_obs" in info:
                assert np.array_equal(info["_final_obs"], term | trunc)

    def resetting():
        for s in range(200):
            envs.reset(seed=s)

    def rendering():
        for i in range(200):
            assert envs._core.render_rgb(i % n, 32, 32).shape == (32, 32, 3)

    assert not run_threads([stepping, stepping, resetting, rendering])
    # Nothing was left broken: it plays as a new env.
    fresh = dodge.DodgeVectorEnv(n, autoreset_mode=AutoresetMode.SAME_STEP, threads=2, **IMAGE_KEYS)
    assert np.array_equal(envs.reset(seed=4)[0], fresh.reset(seed=4)[0])
    for _ in range(60):
        assert outcome(envs.step(a)) == outcome(fresh.step(a))


def _step_in_child(envs, queue):
    try:
        envs.step(np.zeros((envs.num_envs, 3), np.float32))
        queue.put("stepped")
    except RuntimeError as e:
        queue.put(str(e))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_clear_error_not_a_dead_thread_pool():
    ctx = mp.get_context("fork")
    for threads, expected in [(2, "forked child"), (1, "stepped")]:
        envs = dodge.DodgeVectorEnv(4, threads=threads, **KEYS)
        envs.reset(seed=0)
        queue = ctx.Queue()
        p = ctx.Process(target=_step_in_child, args=(envs, queue))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert expected in queue.get(timeout=5)
        envs.step(np.zeros((4, 3), np.float32))  # the parent's pool still works
