#!/usr/bin/env bash
# Installs the Debian packages the test suite and the demo need, only those
# missing, so a second run costs nothing. Debian 12 (bookworm) or newer.
set -euo pipefail

# debian-archive-keyring: the sandbox build checks the Debian archive signatures against it.
want=(debootstrap debian-archive-keyring)
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  want+=(python3-venv)
fi
for extra in "$@"; do want+=("$extra"); done

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "These Debian packages are needed: ${missing[*]}" >&2
  echo "Install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
