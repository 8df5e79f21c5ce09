"""The tuner: Optuna studies over `dodge train` (`python -m dodge.tune`, docs/tuning.md).

One module per concern: cli (the command line), study (sampler, pruner, the trial loop, signals),
runs (launching `dodge train` / `dodge eval` and reading their files), storage (journal file or
SQL URL, its password kept out of argv), workers (which worker holds a trial, and is it alive),
stats (the objective: IQM, interval, PAR-2), space (the search space file), report (the table,
best.yaml, pictures)."""
