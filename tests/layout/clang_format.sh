#!/usr/bin/env bash
# The C++ sources follow .clang-format (clang-format 14, Debian 12's `clang-format`, installed by
# setup/install-deps.sh): lists every file clang-format would change, with the first lines of its
# diff, and fails. Another clang-format major version formats differently: then it skips with one
# line saying so. Re-format with: clang-format -i $(git ls-files '*.h' '*.cpp')
set -euo pipefail
S=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$S"
command -v clang-format > /dev/null || { echo "SKIP: clang-format is not installed (setup/install-deps.sh installs it)"; exit 77; }
version=$(clang-format --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
[ "$version" = 14 ] || { echo "SKIP: clang-format $version; the tree is formatted with clang-format 14 (Debian 12)"; exit 77; }
bad=0 files=0
while IFS= read -r f; do
  files=$((files + 1))
  if ! clang-format --style=file "$f" | cmp -s - "$f"; then
    echo "not formatted: $f"
    clang-format --style=file "$f" | diff "$f" - | head -8 || true
    bad=$((bad + 1))
  fi
done < <(find src include tests -name '*.h' -o -name '*.cpp' | sort)
echo "clang_format: $files files, $bad not formatted"
[ "$bad" -eq 0 ]
