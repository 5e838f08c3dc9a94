#!/usr/bin/env bash
# Every C++ file the project tracks is formatted as .clang-format says (clang-format 14, Debian 12's:
# another version formats some constructs differently, so the check is skipped there, saying so).
# Usage: tests/format_check.sh   (from the repository top)
set -u
if ! command -v clang-format >/dev/null; then
  echo "FAIL: clang-format is not installed (launch/test.sh installs Debian's clang-format)"
  exit 1
fi
version=$(clang-format --version | grep -oE 'version [0-9]+' | grep -oE '[0-9]+')
if [ "$version" != 14 ]; then
  echo "SKIPPED: format_check: the house style is checked with clang-format 14 (Debian 12's); this is $version"
  exit 77
fi
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cu' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h' -o -name '*.cu')
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "FAIL: ${#unformatted[@]} file(s) not formatted as .clang-format says: ${unformatted[*]}"
  echo "  fix with: clang-format -i ${unformatted[*]}"
  exit 1
fi
echo "PASS: ${#files[@]} files formatted as .clang-format says"
