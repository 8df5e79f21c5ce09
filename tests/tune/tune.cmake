# Included by the root CMakeLists.txt: the tuner (python -m dodge.tune, Optuna over `dodge train`), each
# case of tests/tune/test_tune.py a CTest test with tiny trainings, in scripts/py-env.sh's Python.
# Skipped (77) only where that environment cannot be made, and tune:postgres also where no
# PostgreSQL server is installed (scripts/install-deps.sh installs Debian's).
#   tune:env               the environment (made once, after python:install when both run)
#   tune:space             bad spaces and input: exit 2, one line naming the key, before any training
#   tune:journal           3 trials x 2 seeds on the journal file, one pruned; table, pictures, best.yaml
#   tune:best-reproduces   dodge train --config best.yaml gives the best trial's evaluations again
#   tune:postgres          two workers on one study in a PostgreSQL server started by the test
#   tune:ctrl-c            Ctrl-C on a worker, then a restart completes the study
#   tune:kill-9            kill -9 on a worker, then a restart completes the study
#   tune:sampler-seed      the same sampler seed proposes the same values
# With tests/tune/fake_dodge.py (a stand-in binary that fails, plateaus or overruns on cue, 1-5 s each):
#   tune:stale-run         a trial reads only the run it started, not one left in its folder
#   tune:bar               --objective time counts the bar only, not a plateau; the table says which rule
#   tune:warmup            the median pruner's warm-up is on the step axis the trial reports
#   tune:hyperband         Hyperband's min_resource is one evaluation on that axis
#   tune:signals           a failed run's sibling gets one SIGINT and writes its checkpoint
#   tune:watchdog          a run past its minutes fails its trial, no traceback; no complete trial: exit 1
#   tune:all-failed        every trial failed: exit 1 with one line
#   tune:settings          a restart with another --parallel is refused
#   tune:few-seeds         under 5 seeds: values and range, no IQM interval
#   tune:units             a worker's liveness across machines; writers sharing the table's folder
#   tune:docs              documented commands against --help; the docs' study through --check
#   tune:installed         the installed package's modules and entry points (77 when not installed)
set(DODGE_TUNE_RUN "${PROJECT_SOURCE_DIR}/tests/tune/run.sh")
# tune:env makes or reuses the venv (scripts/py-env.sh), never while python:install writes into it;
# the others need it first. All hold the venv's lock, so they also run one at a time.
add_test(NAME "tune:env" COMMAND bash "${DODGE_TUNE_RUN}" env "$<TARGET_FILE:dodge>")
set_tests_properties("tune:env" PROPERTIES FIXTURES_SETUP dodge_tune_env RESOURCE_LOCK dodge_python_env
                     SKIP_RETURN_CODE 77 TIMEOUT 900)
foreach(case space journal best-reproduces postgres ctrl-c kill-9 sampler-seed stale-run bar warmup hyperband
        signals watchdog all-failed settings few-seeds units docs installed)
  add_test(NAME "tune:${case}" COMMAND bash "${DODGE_TUNE_RUN}" ${case} "$<TARGET_FILE:dodge>"
           "${PROJECT_BINARY_DIR}/tune-tests/journal")
  # Each takes 1-60 s on an idle 2-core machine; the timeout leaves room for a busy one.
  set_tests_properties("tune:${case}" PROPERTIES FIXTURES_REQUIRED dodge_tune_env RESOURCE_LOCK dodge_python_env
                       SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()
# best.yaml of tune:journal's study (in the build folder) trained again.
set_tests_properties("tune:journal" PROPERTIES FIXTURES_SETUP dodge_tune_journal)
set_tests_properties("tune:best-reproduces" PROPERTIES FIXTURES_REQUIRED "dodge_tune_env;dodge_tune_journal")
# The installed package's entry points: after python:install has put the package into the venv.
set_tests_properties("tune:installed" PROPERTIES FIXTURES_REQUIRED "dodge_tune_env;dodge_python")
