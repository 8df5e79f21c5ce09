"""Where the dodge binary is, for the tuner and the seeds harness (standard library only):
--dodge PATH, else $DODGE_BINARY, else `dodge` on PATH, else build/dodge under the current folder."""
import os
import shutil


def find_dodge(given=None):
    """(the path, None) or (None, a one-line reason)."""
    if given:
        if os.path.isfile(given) and os.access(given, os.X_OK):
            return given, None
        return None, f"--dodge {given}: not an executable file"
    env = os.environ.get("DODGE_BINARY")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env, None
        return None, f"$DODGE_BINARY {env}: not an executable file"
    on_path = shutil.which("dodge")
    if on_path:
        return on_path, None
    local = os.path.join("build", "dodge")
    if os.path.isfile(local) and os.access(local, os.X_OK):
        return os.path.abspath(local), None
    return None, ("no dodge binary: pass --dodge PATH, set $DODGE_BINARY, put dodge on PATH, or run from a "
                  "checkout with build/dodge (scripts/build.sh)")
