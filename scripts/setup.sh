#!/usr/bin/env bash
# Creates the two Python environments of the project (see ARCHITECTURE.md):
#   .venv       the application (Python 3.11+): gateway, actions, stores, tests
#   .venv-rasa  the Rasa server (Python 3.10): rasa 3.6.21, underthesea and nlu/
# Each environment is rebuilt only when the files that define it change, so a
# second run is a no-op. Usage: scripts/setup.sh [app|rasa|all]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WHAT="${1:-all}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# version_ok PYTHON MAJOR MINOR EXACT: the interpreter runs and has the wanted version
version_ok() {
  "$1" -c "import sys; v=sys.version_info[:2]; w=($2,$3); sys.exit(0 if (v==w if '$4'=='exact' else v>=w) else 1)" \
    >/dev/null 2>&1
}

pyenv_candidates() {
  local root
  root="${PYENV_ROOT:-}"
  if [ -z "$root" ] && command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null || true)"; fi
  [ -n "$root" ] || root="$HOME/.pyenv"
  ls -d "$root"/versions/"$1"*/bin/python"$1" 2>/dev/null | sort -V -r || true
}

find_python() { # find_python MINOR_LIST MODE
  local mode="$2" minor cand
  for minor in $1; do
    for cand in "python3.$minor" $(pyenv_candidates "3.$minor") "/usr/bin/python3.$minor" "/usr/local/bin/python3.$minor"; do
      if command -v "$cand" >/dev/null 2>&1 && version_ok "$cand" 3 "$minor" "$mode"; then
        command -v "$cand"; return 0
      fi
    done
  done
  return 1
}

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

setup_app() {
  local py stamp inputs=(pyproject.toml constraints/app.txt)
  stamp="$(stamp_of "${inputs[@]}")"
  if [ -f .venv/.stamp ] && [ "$(cat .venv/.stamp)" = "$stamp" ] && [ -x .venv/bin/hotline ]; then
    say "application environment .venv is up to date"; return 0
  fi
  py="$(find_python "11 12 13" exact)" || die "Python 3.11 or newer is needed for the application.
  Install it (for example: pyenv install 3.11, or apt-get install python3.11 python3.11-venv) and run make setup again."
  say "application environment: creating .venv with $py"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  say "application environment: installing packages (pinned in constraints/app.txt)"
  .venv/bin/python -m pip install --quiet --progress-bar off -c constraints/app.txt -e ".[dev]"
  echo "$stamp" > .venv/.stamp
  say "application environment ready"
}

setup_rasa() {
  local py stamp inputs=(constraints/rasa.txt constraints/rasa-requirements.txt)
  stamp="$(stamp_of "${inputs[@]}")"
  if [ -f .venv-rasa/.stamp ] && [ "$(cat .venv-rasa/.stamp)" = "$stamp" ] && [ -x .venv-rasa/bin/rasa ]; then
    say "Rasa environment .venv-rasa is up to date"; return 0
  fi
  py="$(find_python "10" exact)" || die "Python 3.10 is needed for the Rasa server (Rasa 3.6 does not run on newer Pythons).
  Install it (for example: pyenv install 3.10, or apt-get install python3.10 python3.10-venv),
  or point to it with PATH, and run make setup again."
  say "Rasa environment: creating .venv-rasa with $py"
  [ -x .venv-rasa/bin/python ] || "$py" -m venv .venv-rasa
  .venv-rasa/bin/python -m pip install --quiet --upgrade 'pip<25'
  say "Rasa environment: installing rasa 3.6.21 and underthesea (about 3 minutes and 2.7 GB the first time)"
  .venv-rasa/bin/python -m pip install --quiet --progress-bar off \
    -c constraints/rasa.txt -r constraints/rasa-requirements.txt
  echo "$stamp" > .venv-rasa/.stamp
  say "Rasa environment ready"
}

# The web chat's browser test drives Debian's chromium (Playwright cannot download its own
# browser here). Installed when missing and possible; otherwise the test says what to do.
setup_browser() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the web chat's browser test"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || say "could not install chromium (apt-get install chromium); the browser test will fail"
  else
    say "chromium is missing: run 'sudo apt-get install chromium' for the web chat's browser test"
  fi
}

case "$WHAT" in
  app) setup_app; setup_browser ;;
  rasa) setup_rasa ;;
  all) setup_app; setup_rasa; setup_browser ;;
  *) die "unknown target '$WHAT' (expected app, rasa or all)" ;;
esac
