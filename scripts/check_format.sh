#!/usr/bin/env bash
# Checks that every C++ source of ours (.h and .cpp outside third_party/ and build folders) is
# formatted as .clang-format says; prints the files that differ and fails if any does.
#   scripts/check_format.sh          check (what scripts/test.sh runs)
#   scripts/check_format.sh --fix    reformat those files in place
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null; then
  echo "check_format: $clang_format not found (apt install clang-format)" >&2
  exit 2
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.cpp' |
                       grep -v '^third_party/' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
  mapfile -t files < <(find apps core datasets models tests tokenization \
                       -name '*.h' -o -name '*.cpp' | sort)
fi
if [ "${1:-}" = "--fix" ]; then
  "$clang_format" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} file(s) differ from .clang-format (scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
