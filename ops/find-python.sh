#!/usr/bin/env bash
# Print the path of a Python 3.13 (or newer 3.x) interpreter: PATH first, then pyenv's versions.
# Fails with one line naming what to install when there is none.
set -uo pipefail

is_ok() {  # a python that runs and is >= 3.13
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1
}

for name in python3.13 python3.14 python3; do
    candidate=$(command -v "$name" 2>/dev/null) || continue
    if is_ok "$candidate"; then echo "$candidate"; exit 0; fi
done

pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for candidate in $(ls -d "$pyenv_root"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -rV); do
    if is_ok "$candidate"; then echo "$candidate"; exit 0; fi
done

echo "error: Zelly needs Python 3.13 or newer: none on PATH or in pyenv (install python3.13, or 'pyenv install 3.13')" >&2
exit 1
