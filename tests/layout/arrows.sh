#!/usr/bin/env bash
# The parts' arrows point only down: each part's sources and headers include only the dodge parts
# and outside libraries it is allowed to know (docs/architecture.md). Prints every
# include that breaks the rule and fails; run from CTest as layout:arrows.
set -uo pipefail
SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$SRC" || exit 1

# part | dodge parts it may include | outside headers it must not include (regex)
rules=(
  "game|game|torch|ATen|c10|SDL|yaml|spdlog|fmt|CLI|png|gif_lib|nlohmann"
  "render|game render|torch|ATen|c10|SDL|yaml|spdlog|fmt|CLI|png|gif_lib|nlohmann"
  "learn|learn|SDL|yaml|spdlog|fmt|CLI|png|gif_lib"
  "output|output|torch|ATen|c10|SDL|yaml|spdlog|fmt|CLI"
  "run|game render learn output run|SDL|CLI"
  "commands|game render learn output run commands|SDL"
  "viewer|game render learn output run viewer|yaml"
)

bad=0
for rule in "${rules[@]}"; do
  part="${rule%%|*}"
  rest="${rule#*|}"
  allowed="${rest%%|*}"
  banned="${rest#*|}"
  files=$(find "src/$part" "include/dodge/$part" -name '*.[ch]pp' 2>/dev/null)
  [ -n "$files" ] || { echo "layout: no sources for part '$part'"; bad=1; continue; }
  for f in $files; do
    while IFS= read -r line; do
      inc="${line#*\"dodge/}"; inc="${inc%\"*}"
      dep="${inc%%/*}"
      if [[ " $allowed " != *" $dep "* ]]; then
        echo "$f: includes dodge/$inc, but $part may only use: $allowed"
        bad=1
      fi
    done < <(grep -E '^#include "dodge/' "$f")
    while IFS= read -r line; do
      echo "$f: $line, which $part must not know"
      bad=1
    done < <(grep -E "^#include <($banned)[/._a-zA-Z]*" "$f")
  done
done
# The Python package's extension links the game and the renderer alone (no LibTorch, SDL, run library).
for f in $(find python/src -name '*.[ch]pp' 2>/dev/null); do
  while IFS= read -r line; do
    echo "$f: $line, but the Python extension may only use game and render"
    bad=1
  done < <(grep -E '^#include "dodge/' "$f" | grep -vE '"dodge/(game|render)/')
  while IFS= read -r line; do
    echo "$f: $line, which the Python extension must not know"
    bad=1
  done < <(grep -E "^#include <(torch|ATen|c10|SDL|yaml|spdlog|fmt|CLI|png|gif_lib|nlohmann)[/._a-zA-Z]*" "$f")
done
[ -d python/src ] || { echo "layout: no python/src"; bad=1; }
# main.cpp dispatches to the front ends and knows nothing below run.
while IFS= read -r line; do
  echo "src/main.cpp: $line, but main may only use commands, viewer, run and output"
  bad=1
done < <(grep -E '^#include "dodge/' src/main.cpp | grep -vE '"dodge/(commands|viewer|run|output)/')
[ "$bad" -eq 0 ] && echo "layout: every include points down"
exit "$bad"
