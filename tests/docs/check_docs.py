#!/usr/bin/env python3
"""The docs against the tree and the binary, one CTest test per case (docs:CASE):

  links          every local link in the README and docs/ resolves (file and #anchor), every config a
                 doc names exists
  pictures       every picture under docs/ is shown by some page
  patches        no patch files under docs/
  readme         README.md: at most 2,500 words outside code blocks, the two quick-start commands
  version        CMakeLists.txt, pyproject.toml, dodge.__version__, CHANGELOG.md and dodge --version agree
  cli            docs/cli.md lists exactly each command's --help options; documented commands use only those
  configuration  docs/configuration.md's key table is what `dodge config --keys` and configs/example.yaml make
  config-cmd     dodge config: the resolved config, overrides, a round trip, bad input

Usage: check_docs.py CASE SOURCE_DIR [DODGE_BINARY]
       check_docs.py --write-configuration SOURCE_DIR DODGE_BINARY   (regenerates the key table)
Standard library only; each case takes well under a second (config-cmd: a few runs of dodge config).
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

SRC = ""
DODGE = ""
FAILS = []


def check(ok, msg):
    if not ok:
        FAILS.append(msg)


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def user_pages():
    """The pages whose links and commands are checked (the notebooks' links too)."""
    pages = ["README.md", "CHANGELOG.md", "configs/README.md"]
    pages += sorted(os.path.relpath(p, SRC) for p in glob.glob(os.path.join(SRC, "docs", "**", "*.md"), recursive=True))
    return pages


def strip_code_blocks(md):
    return re.sub(r"```.*?```", "", md, flags=re.S)


# ---- links ------------------------------------------------------------------------------------------
def slug(heading):
    """GitHub's anchor for a heading: lower case, links reduced to their text, punctuation dropped."""
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(md):
    found, seen = set(), {}
    for h in re.findall(r"^#{1,6} (.+)$", strip_code_blocks(md), re.M):
        s = slug(h)
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else f"{s}-{n}")
    found.update(re.findall(r'<a (?:id|name)="([^"]+)"', md))
    return found


def links(md):
    text = strip_code_blocks(md)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)


def case_links():
    count = 0
    for page in user_pages():
        md = read(page)
        base = os.path.dirname(os.path.join(SRC, page))
        for target in links(md):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            count += 1
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else os.path.join(SRC, page)
            if not os.path.exists(full):
                check(False, f"{page}: link {target}: {os.path.relpath(full, SRC)} does not exist")
                continue
            if anchor and full.endswith(".md"):
                with open(full, encoding="utf-8") as f:
                    check(anchor in anchors(f.read()), f"{page}: link {target}: no heading #{anchor} there")
        # Configs named anywhere on the page, in prose or in commands.
        for cfg in sorted(set(re.findall(r"(?<![\w/.-])(configs/[\w/.-]+\.yaml)", md))):
            check(os.path.exists(os.path.join(SRC, cfg)), f"{page}: names {cfg}, which does not exist")
        for cfg in sorted(set(re.findall(r"`((?:sac|quickstart|example)[\w.-]*\.yaml)`", md))):
            check(os.path.exists(os.path.join(SRC, "configs", cfg)), f"{page}: names {cfg}, not in configs/")
    check(count > 100, f"only {count} local links found")
    print(f"{count} local links in {len(user_pages())} pages")


def case_pictures():
    shown = set()
    for page in user_pages() + ["python/README.md"]:
        base = os.path.dirname(os.path.join(SRC, page))
        for target in links(read(page)):
            shown.add(os.path.normpath(os.path.join(base, target.partition("#")[0])))
    pictures = [p for ext in ("png", "gif", "jpg", "svg") for p in glob.glob(os.path.join(SRC, "docs", "**", f"*.{ext}"), recursive=True)]
    for p in sorted(pictures):
        check(os.path.normpath(p) in shown, f"{os.path.relpath(p, SRC)} is shown on no page")
    print(f"{len(pictures)} pictures under docs/")


def case_patches():
    found = [os.path.relpath(p, SRC) for ext in ("patch", "diff") for p in glob.glob(os.path.join(SRC, "docs", "**", f"*.{ext}"), recursive=True)]
    check(not found, f"patch files in docs/: {found} (keep an experiment as a config or a branch, named in the notebook)")


def case_readme():
    md = read("README.md")
    words = len(strip_code_blocks(md).split())
    check(words <= 2500, f"README.md has {words} words outside code blocks (at most 2,500)")
    quick = re.search(r"^## Quick start\n(.*?)^## ", md, re.S | re.M)
    check(quick is not None, "README.md has no '## Quick start' section")
    if quick:
        blocks = re.findall(r"```sh\n(.*?)```", quick.group(1), re.S)[:1]
        cmds = [l.split("#")[0].strip() for b in blocks for l in b.splitlines() if l.split("#")[0].strip()]
        check(cmds == ["scripts/quickstart.sh", "scripts/test.sh"], f"the quick start's commands changed: {cmds}")
    print(f"README.md: {words} words outside code blocks")


# ---- version ----------------------------------------------------------------------------------------
def case_version():
    cmake = re.search(r"project\(dodge VERSION ([0-9.]+)", read("CMakeLists.txt")).group(1)
    pyproject = re.search(r'^version = "([^"]+)"', read("pyproject.toml"), re.M).group(1)
    package = re.search(r'^__version__ = "([^"]+)"', read("python/dodge/__init__.py"), re.M).group(1)
    changelog = re.search(r"^## \[([0-9][^\]]*)\]", read("CHANGELOG.md"), re.M).group(1)
    versions = {"CMakeLists.txt": cmake, "pyproject.toml": pyproject, "python/dodge/__init__.py": package,
                "CHANGELOG.md (newest release)": changelog}
    if DODGE:
        out = subprocess.run([DODGE, "--version"], capture_output=True, text=True).stdout.strip()
        versions["dodge --version"] = out.replace("dodge ", "", 1)
    check(len(set(versions.values())) == 1, f"versions differ: {versions}")
    check(os.path.exists(os.path.join(SRC, "LICENSE")), "no LICENSE")
    print(f"version {cmake} everywhere" if len(set(versions.values())) == 1 else versions)


# ---- cli --------------------------------------------------------------------------------------------
COMMANDS = ["train", "config", "eval", "watch", "play", "bench env", "bench replay", "bench update",
            "bench train", "dump-obs", "plot", "export"]
OPT = r"(?<![\w-])--[a-z][a-z0-9-]*"


def help_options(cmd):
    r = subprocess.run([DODGE] + cmd.split() + ["--help"], capture_output=True, text=True)
    if r.returncode != 0:
        return None  # not built in (watch and play without SDL2)
    # Options are the lines of the Options: list (their first column).
    opts = set()
    for line in r.stdout.splitlines():
        m = re.match(r"^\s+(-[\w-]+(?:,\s*-[\w-]+)*)", line)
        if m:
            opts.update(o for o in re.findall(OPT, m.group(1)))
    opts.discard("--help")
    return opts


def cli_sections(md):
    """{command: the section's text} for headings '## `dodge CMD`' / '### `dodge bench SUB`'."""
    parts = re.split(r"^(#{2,3} `dodge [a-z -]+`.*)$", md, flags=re.M)
    out = {}
    for i in range(1, len(parts), 2):
        name = re.match(r"#{2,3} `dodge ([a-z -]+)`", parts[i]).group(1).strip()
        out[name] = parts[i + 1]
    return out


def case_cli():
    if not DODGE:
        check(False, "docs:cli needs the dodge binary")
        return
    sections = cli_sections(read("docs/cli.md"))
    helps = {}
    for cmd in COMMANDS:
        opts = help_options(cmd)
        if opts is None:
            print(f"dodge {cmd}: not built here, not checked")
            continue
        helps[cmd] = opts
        check(cmd in sections, f"docs/cli.md has no section '`dodge {cmd}`'")
        if cmd not in sections:
            continue
        table = set()
        for line in sections[cmd].splitlines():
            if line.startswith("| `-"):
                table.update(re.findall(OPT, line.split("|")[1]))
        check(not opts - table, f"docs/cli.md, dodge {cmd}: options of --help not documented: {sorted(opts - table)}")
        check(not table - opts, f"docs/cli.md, dodge {cmd}: documented options --help does not have: {sorted(table - opts)}")
    # Every dodge command written in the user pages uses only options its --help lists.
    bad, n = [], 0
    pages = ["README.md", "configs/README.md"] + [p for p in user_pages() if p.startswith("docs/") and
                                                   not p.endswith(("notebook.md", "performance-history.md"))]
    names = sorted(helps, key=len, reverse=True)
    for page in pages:
        md = read(page)
        texts = re.findall(r"```[a-z]*\n(.*?)```", md, re.S) + re.findall(r"`([^`\n]+)`", strip_code_blocks(md))
        for text in texts:
            for line in text.replace("\\\n", " ").splitlines():
                for m in re.finditer(r"(?:^|[\s/])dodge ((?:bench )?[a-z-]+)", line):
                    cmd = next((c for c in names if m.group(1).startswith(c)), None)
                    if cmd is None:
                        continue
                    rest = re.split(r"\s(?:\||#|&&|;)\s", line[m.end():])[0]
                    n += 1
                    for o in re.findall(OPT, rest):
                        if o not in helps[cmd] and o != "--help":
                            bad.append(f"{page}: dodge {cmd} {o}")
    check(not bad, f"documented commands use options their --help does not have: {sorted(set(bad))}")
    print(f"{len(helps)} commands' --help against docs/cli.md; {n} documented dodge commands")


# ---- configuration ----------------------------------------------------------------------------------
# Keys configs/example.yaml leaves without a comment.
MEANING = {
    "env.thrower_delay_seconds": "seconds between a thrower's wind-up and its throw",
    "env.collision_penalty": "reward when a ball hits the player (the episode ends)",
    "env.survival_reward": "reward per physics step survived",
    "env.dodge_bonus_threshold": "distance (units) within which a ball that passes counts as dodged",
    "env.dodge_bonus_multiplier": "reward multiplier of a close dodge",
    "env.max_episode_steps": "physics steps before the episode is truncated (a success)",
    "env.physics_hz": "physics steps per second",
    "env.frame_skip": "physics steps per agent step (action repeat)",
    "env.image_width": "frame width in pixels (topdown)",
    "env.image_height": "frame height in pixels (topdown)",
    "env.image_grayscale": "grey frames (1 channel) instead of RGB (3)",
    "env.view_extent": "width of the square the frame shows, in world units, centred on the court (not the player)",
    "env.min_radius_px": "smallest radius a ball is drawn with, in pixels",
    "env.offscreen_markers": "mark balls outside the view at the frame's edge",
    "env.frame_stack": "frames (or vectors) per observation, newest last",
    "env.n_envs": "training games stepped together",
    "sac.batch_size": "transitions per update",
    "sac.gamma": "discount factor",
    "train.n_eval_episodes": "episodes per evaluation",
    "train.keep_checkpoints": "periodic checkpoints kept (older ones are deleted)",
    "train.seed": "seed of the games, the networks and the sampling (--seed)",
}


def example_comments():
    out, section = {}, None
    for line in read("configs/example.yaml").splitlines():
        m = re.match(r"^(\w+):\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^  (\w+):[^#]*?(?:#\s*(.*))?$", line)
        if m and section:
            out[f"{section}.{m.group(1)}"] = (m.group(2) or "").strip()
    return out


def cell(text):
    return text.replace("|", "\\|")


def key_table():
    r = subprocess.run([DODGE, "config", "--keys"], capture_output=True, text=True)
    check(r.returncode == 0, f"dodge config --keys: exit {r.returncode} {r.stderr}")
    comments = example_comments()
    rows, section = [], None
    for line in r.stdout.splitlines():
        key, allowed, default = line.split("\t")
        sec = key.split(".")[0]
        if sec != section:
            if section:
                rows.append("")
            rows += [f"### `{sec}`", "", "| key | allowed | default | what it does |", "|---|---|---|---|"]
            section = sec
        meaning = comments.get(key) or MEANING.get(key, "")
        check(meaning, f"{key}: no comment in configs/example.yaml and none in check_docs.py's MEANING")
        rows.append(f"| `{key}` | {cell(allowed)} | `{cell(default)}` | {cell(meaning)} |")
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- keys: generated by tests/docs/check_docs.py --write-configuration -->\n", "<!-- /keys -->\n"


def case_configuration():
    md = read("docs/configuration.md")
    check(BEGIN in md and END in md, "docs/configuration.md has no generated key table markers")
    if FAILS:
        return
    have = md.split(BEGIN, 1)[1].split(END, 1)[0]
    want = key_table()
    check(have.strip() == want.strip(),
          "docs/configuration.md's key table differs from dodge config --keys + configs/example.yaml; run "
          "tests/docs/check_docs.py --write-configuration SOURCE_DIR DODGE to regenerate it")
    print(f"{want.count(chr(10) + '| `')} keys")


def write_configuration():
    p = os.path.join(SRC, "docs", "configuration.md")
    with open(p, encoding="utf-8") as f:
        md = f.read()
    head, rest = md.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(p, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + key_table() + END + tail)


# ---- config-cmd -------------------------------------------------------------------------------------
def run(args):
    return subprocess.run([DODGE] + args, capture_output=True, text=True, cwd=SRC)


def body(out):
    return "\n".join(l for l in out.splitlines() if not l.startswith("#")) + "\n"


def case_config_cmd():
    keys = run(["config", "--keys"]).stdout.splitlines()
    check(len(keys) > 60, f"dodge config --keys printed {len(keys)} keys")
    r = run(["config", "--config", "configs/quickstart.yaml", "--set", "env.level=2", "--set", "sac.batch_size=64",
             "--seed", "7", "--steps", "1e5", "--device", "cpu"])
    check(r.returncode == 0, f"dodge config --config configs/quickstart.yaml ...: exit {r.returncode} {r.stderr}")
    y = body(r.stdout)
    for want in ("env:\n", "  level: 2\n", "  batch_size: 64\n", "  seed: 7\n", "  total_timesteps: 100000\n",
                 "  device: cpu\n"):
        check(want in y, f"dodge config: {want.strip()!r} not in its output")
    # Every key, once, in its section (the defaults included).
    section = None
    printed = []
    for line in y.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        else:
            printed.append(f"{section}.{line.split(':')[0].strip()}")
    check(printed == [k.split("\t")[0] for k in keys], "dodge config does not print every key of --keys in order")
    # What it prints is a config that resolves to itself.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "resolved.yaml")
        with open(path, "w") as f:
            f.write(y)
        r2 = run(["config", "--config", path])
        check(r2.returncode == 0 and body(r2.stdout) == y, f"dodge config's output does not resolve to itself: {r2.stderr}")
    # The defaults: no --config.
    r = run(["config"])
    defaults = {k.split("\t")[0]: k.split("\t")[2] for k in keys}
    check(r.returncode == 0 and "  n_envs: " + defaults["env.n_envs"] + "\n" in r.stdout, "dodge config without --config")
    # Bad input: one line, exit 2, before anything else.
    for args, words in ((["--set", "env.levle=2"], "did you mean"), (["--set", "env.level=3"], "allowed"),
                        (["--config", "configs/no_such.yaml"], "no_such.yaml"), (["--steps", "0"], "--steps")):
        r = run(["config"] + args)
        check(r.returncode == 2 and words in r.stderr and r.stdout == "",
              f"dodge config {' '.join(args)}: exit {r.returncode}, stderr {r.stderr!r}")
    print(f"dodge config: {len(keys)} keys, overrides, round trip, 4 bad inputs")


CASES = {"links": case_links, "pictures": case_pictures, "patches": case_patches, "readme": case_readme,
         "version": case_version, "cli": case_cli, "configuration": case_configuration,
         "config-cmd": case_config_cmd}


def main():
    global SRC, DODGE
    if sys.argv[1] == "--write-configuration":
        SRC, DODGE = sys.argv[2], sys.argv[3]
        write_configuration()
        return 0
    case, SRC = sys.argv[1], sys.argv[2]
    DODGE = sys.argv[3] if len(sys.argv) > 3 else ""
    CASES[case]()
    for f in FAILS:
        print("FAIL:", f)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
