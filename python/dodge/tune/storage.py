"""Where a study lives: a journal file or an SQLAlchemy URL. A URL's password never goes on the
command line (every user of the machine reads argv in `ps`) nor into a message: it comes from
$DODGE_TUNE_STORAGE (the whole URL), or from libpq's own ~/.pgpass / $PGPASSFILE / $PGPASSWORD
for a postgresql:// URL without one."""
import os
import random
import time

from .common import fail, say

ENV_VAR = "DODGE_TUNE_STORAGE"


def _password(url):
    """The URL's password, or None."""
    if "://" not in url:
        return None
    rest = url.split("://", 1)[1]
    if "@" not in rest.split("/", 1)[0] and "@" not in rest:
        return None
    cred = rest.rsplit("@", 1)[0] if "@" in rest else ""
    if ":" in cred:
        return cred.split(":", 1)[1] or None
    return None


def redact(url):
    """The URL as it may be printed: its password as ***."""
    pw = _password(url)
    if pw is None:
        return url
    scheme, rest = url.split("://", 1)
    cred, host = rest.rsplit("@", 1)
    return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}"


def scrub(text, url):
    """A message with the URL's password (should a library print it) replaced by ***."""
    pw = _password(url or "")
    return text.replace(pw, "***") if pw else text


def resolve(given, results):
    """(the storage, where it came from): --storage, else $DODGE_TUNE_STORAGE, else the journal file
    RESULTS/study.journal. A password in --storage is refused before anything is opened."""
    if given:
        if _password(given) is not None:
            fail(f"--storage {redact(given)}: a password on the command line is visible to every user "
                 f"(ps); put it in ~/.pgpass or $PGPASSFILE (libpq reads it), or the whole URL in ${ENV_VAR}")
        return given, "--storage"
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR], f"${ENV_VAR}"
    return os.path.join(results, "study.journal"), "default"


def open_storage(url, heartbeat, on_stale, report_only=False):
    """(the Optuna storage, the RDB storage or None, its printable label)."""
    import optuna

    if "://" in url:
        label = redact(url)
        if url.startswith("sqlite"):
            say("warning: SQLite is for one machine: its locks fail on NFS; use PostgreSQL or a journal "
                "file for several machines")
        kw = {"heartbeat_interval": int(heartbeat), "grace_period": int(3 * heartbeat + 60),
              "heartbeat_stale_trial_callback": on_stale}
        import sqlalchemy.exc

        for attempt in range(10):
            try:
                rdb = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, **kw)
                return rdb, rdb, label
            except (sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError) as e:
                # Workers that start together on an empty database race to create Optuna's
                # tables ("relation ... already exists"): the loser opens what the winner made.
                if attempt == 9:
                    fail(f"storage {label}: cannot open it: {type(e).__name__}: "
                         f"{scrub(str(e).splitlines()[0], url)}", 1)
                time.sleep(0.5 + 2 * random.random())
            except Exception as e:
                fail(f"storage {label}: cannot open it: {type(e).__name__}: "
                     f"{scrub(str(e).splitlines()[0] if str(e) else '', url)}", 1)
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    if report_only and not os.path.isfile(url):
        fail(f"--storage {url}: no such journal file")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(url)), exist_ok=True)
        return JournalStorage(JournalFileBackend(url)), None, url
    except OSError as e:
        fail(f"--storage {url}: {e.strerror}", 1)
