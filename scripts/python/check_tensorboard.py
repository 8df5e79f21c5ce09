#!/usr/bin/env python3
"""Check a dodge run's TensorBoard log against its progress.csv.

Opens RUN_DIR/logs/tensorboard/ with TensorBoard's own reader (EventAccumulator, every scalar
loaded) and checks, for each tag (default: rollout/ep_rew_mean, train/critic_loss,
eval/mean_reward, time/fps), that TensorBoard has it, that RUN_DIR/logs/progress.csv has a column
of that name, and that both hold the same (step, value) pairs: the same steps (the csv's step
column is time/total_timesteps; empty cells mean "not logged at this step") and the same values
to float32 precision (TensorBoard stores float32, the csv prints 10 significant digits).

usage: check_tensorboard.py RUN_DIR [--tags TAG,TAG,...]
exit: 0 all match, 1 a tag is missing or differs (one line per problem), 2 unreadable input.
"""
import argparse
import csv
import glob
import math
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

DEFAULT_TAGS = "rollout/ep_rew_mean,train/critic_loss,eval/mean_reward,time/fps"
STEP_COLUMN = "time/total_timesteps"
# float32 has a 24-bit mantissa: allow a few units in the last place.
REL_TOL = 4 * 2.0 ** -23
ABS_TOL = 1e-12


def read_csv(path):
    """Returns {column: {step: value}} for the non-empty cells of progress.csv."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}, 0
    if STEP_COLUMN not in rows[0]:
        print(f"check_tensorboard: {path} has no {STEP_COLUMN} column (columns: {', '.join(rows[0])})",
              file=sys.stderr)
        sys.exit(2)
    columns = {name: {} for name in rows[0] if name != STEP_COLUMN}
    for row in rows:
        step = int(float(row[STEP_COLUMN]))
        for name, series in columns.items():
            cell = (row.get(name) or "").strip()
            if cell:
                series[step] = float(cell)
    return columns, len(rows)


def read_tensorboard(folder):
    """Returns {tag: {step: value}} as TensorBoard's reader sees the folder's event files."""
    acc = EventAccumulator(folder, size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def steps_text(steps, limit=8):
    steps = sorted(steps)
    text = ", ".join(str(s) for s in steps[:limit])
    return text + (f", ... ({len(steps)} in all)" if len(steps) > limit else "")


def compare(tag, tb, table):
    """Returns (problems, summary line) for one tag."""
    if tag not in tb:
        return [f"{tag}: not in the TensorBoard log (its scalar tags: {', '.join(sorted(tb))})"], None
    if tag not in table:
        return [f"{tag}: progress.csv has no column {tag}"], None
    tb_series, csv_series = tb[tag], table[tag]
    problems = []
    if not tb_series:
        problems.append(f"{tag}: TensorBoard has the tag but no values")
    if not csv_series:
        problems.append(f"{tag}: progress.csv has the column but every cell is empty "
                        f"(TensorBoard has {len(tb_series)} values at steps {steps_text(tb_series)})")
        return problems, None
    only_tb = set(tb_series) - set(csv_series)
    only_csv = set(csv_series) - set(tb_series)
    if only_tb:
        problems.append(f"{tag}: steps in TensorBoard but empty or absent in progress.csv: {steps_text(only_tb)}")
    if only_csv:
        problems.append(f"{tag}: steps in progress.csv but not in TensorBoard: {steps_text(only_csv)}")
    worst = 0.0
    for step in sorted(set(tb_series) & set(csv_series)):
        a, b = tb_series[step], csv_series[step]
        if math.isnan(a) and math.isnan(b):
            continue
        if not math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            problems.append(f"{tag}: step {step}: TensorBoard {a!r} != progress.csv {b!r}")
        elif a != b:
            worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
    summary = (f"{tag:22s} {len(tb_series):5d} values, steps {min(tb_series)}..{max(tb_series)}, "
               f"max relative difference {worst:.1e}")
    return problems, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a dodge run folder (results/<config>/<date_time>)")
    parser.add_argument("--tags", default=DEFAULT_TAGS, help=f"comma list (default {DEFAULT_TAGS})")
    args = parser.parse_args()

    tb_dir = os.path.join(args.run_dir, "logs", "tensorboard")
    csv_path = os.path.join(args.run_dir, "logs", "progress.csv")
    event_files = sorted(glob.glob(os.path.join(tb_dir, "events.out.tfevents.*")))
    if not event_files:
        print(f"check_tensorboard: no event files in {tb_dir}", file=sys.stderr)
        return 2
    if not os.path.isfile(csv_path):
        print(f"check_tensorboard: {csv_path} is missing", file=sys.stderr)
        return 2

    table, n_rows = read_csv(csv_path)
    tb = read_tensorboard(tb_dir)
    problems, summaries = [], []
    for tag in [t.strip() for t in args.tags.split(",") if t.strip()]:
        p, s = compare(tag, tb, table)
        problems += p
        if s:
            summaries.append(s)

    print(f"{args.run_dir}: {len(event_files)} event file(s), {len(tb)} scalar tags; progress.csv {n_rows} rows")
    for s in summaries:
        print("  " + s)
    if problems:
        print(f"MISMATCH ({len(problems)}):")
        for p in problems:
            print("  " + p)
        return 1
    print("OK: TensorBoard and progress.csv agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
