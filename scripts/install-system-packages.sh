#!/usr/bin/env bash
# Debian packages topicgen needs outside Python: Pango/HarfBuzz for WeasyPrint (PDF) and the
# TeX Gyre fonts the handout is set in. WITH_BROWSER=1 adds what the browser and HTML tests
# run: chromium, npm (to install the pinned checkers) and a Java runtime for the Nu HTML
# checker, the last two only where none is on PATH. Installs only what is missing; safe to rerun.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-texgyre
          fonts-dejavu-core)
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  packages+=(chromium)
  command -v npm >/dev/null || packages+=(npm)
  command -v java >/dev/null || packages+=(default-jre-headless)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "topicgen: please install the equivalents of: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "topicgen: run as root or install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
