#!/usr/bin/env bash
# Debian packages the tests need:
#   chromium                  browser test of the web console
#   libreoffice-writer-nogui  DOCX → PDF for the GB/T 9704 layout checks (tests/test_layout.py, benchmarks/layout.py)
#   fonts-noto-cjk            宋体/黑体 stand-ins (Noto Serif/Sans CJK SC) for 小标宋、仿宋、宋体、黑体
#   fonts-arphic-ukai         楷体 stand-in (AR PL UKai CN) for 楷体_GB2312
#   postgresql                a throwaway PostgreSQL server for tests/test_postgres.py (tests/postgres.py starts
#                             its own cluster in a temp directory; the Debian service itself is not used)
# Each package is checked on its own, so a machine that has some of them only installs the rest.
# Idempotent and quiet: nothing happens when everything is present.
set -euo pipefail

PACKAGES=(chromium libreoffice-writer-nogui fonts-noto-cjk fonts-arphic-ukai postgresql)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# A chromium or soffice installed some other way (not as a Debian package) is good enough.
if command -v chromium >/dev/null 2>&1; then
  missing=("${missing[@]/chromium}")
fi
if command -v soffice >/dev/null 2>&1; then
  missing=("${missing[@]/libreoffice-writer-nogui}")
fi
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
  missing=("${missing[@]/postgresql}")
fi
read -r -a missing <<<"${missing[*]}"
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "安装测试所需的系统软件包：${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if command -v fc-cache >/dev/null 2>&1; then
  fc-cache -f >/dev/null 2>&1 || true
fi
echo "系统软件包安装完成"
