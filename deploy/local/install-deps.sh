#!/usr/bin/env bash
# Install the Debian packages sealpipe's tests and demo use, if missing:
# OpenSSL 3 (independent SM2 checks), qpdf (PDF structure checks),
# poppler-utils (pdftoppm, pdfsig, pdfinfo: rendering and signature listing),
# poppler-data (the CJK character collections, without which pdftotext reads
# no Chinese text in the placement tests; only a recommendation of
# poppler-utils, so --no-install-recommends leaves it out),
# softhsm2 and opensc (a PKCS #11 token and pkcs11-tool, for the HSM pool),
# libnss3-tools (certutil: a trusted root in pdfsig's NSS database, for the
# PAdES tests), rclone and s3cmd (the S3 tools departments upload
# batches with), chromium with fonts-droid-fallback (headless Chromium
# drives the verification page in its tests; the font shows its Chinese in
# the screenshots), and zbar-tools (zbarimg reads the QR code printed under
# a seal off the rendered page, as a phone would).
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
command -v openssl  >/dev/null 2>&1 || need+=(openssl)
command -v qpdf     >/dev/null 2>&1 || need+=(qpdf)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v pdfsig   >/dev/null 2>&1 || need+=(poppler-utils)
[ -d /usr/share/poppler/cMap/Adobe-GB1 ] || need+=(poppler-data)
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v pkcs11-tool   >/dev/null 2>&1 || need+=(opensc)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)
command -v rclone   >/dev/null 2>&1 || need+=(rclone)
command -v s3cmd    >/dev/null 2>&1 || need+=(s3cmd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || need+=(fonts-droid-fallback)
command -v zbarimg  >/dev/null 2>&1 || need+=(zbar-tools)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
