#!/bin/sh
# subset-serif.sh writes templates/fonts/NotoSerifSC-Bold-GB2312.otf, the serif
# (宋体-style) face that templates/sealpic draws unit names, purpose text and
# personal names with. Run it through go generate in templates/fonts:
#
#	cd templates/fonts && go generate
#
# It also writes templates/fonts/testdata/serif-chars.txt, the characters
# asked for, which TestSerif checks the embedded font against.
#
# Source: Noto Serif CJK SC Bold, face 2 of NotoSerifCJK-Bold.ttc from the
# Debian 12 package fonts-noto-cjk 1:20220127+repack1-1 (upstream
# https://github.com/googlefonts/noto-cjk, Serif 2.001), SIL Open Font
# License 1.1 (templates/fonts/OFL.txt).
#
# Tool: pyftsubset from the Debian 12 package fonttools 4.38.0-1+deb12u1.
#
# Coverage: every character of GB 2312 (its 6,763 hanzi, levels 1 and 2, and
# its 682 symbols, digits, letters and punctuation), printable ASCII, U+00B7
# MIDDLE DOT (minority names) and U+3007 〇. The whole SC face would be about
# 23 MB; this subset is about 2.2 MB. Characters outside it (rare place-name
# characters) are drawn by sealpic with Droid Sans Fallback instead.
#
# Layout features, hinting and vertical metrics are dropped: sealpic draws
# outlines one character at a time. The output is byte-for-byte reproducible
# from the same inputs (pyftsubset keeps the source's head timestamps).
#
#	apt-get install fonts-noto-cjk fonttools
set -eu

want_noto='1:20220127+repack1-1'
want_fonttools='4.38.0-1+deb12u1'
src=/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc
src_sha256=a5d4b046c127da3d7c72f98b46c41489cd29bf52abfdf18aba920903e920d4ac

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../templates/fonts/NotoSerifSC-Bold-GB2312.otf}
# The character list is kept for templates/fonts' coverage test.
chars=${2:-$here/../../templates/fonts/testdata/serif-chars.txt}

check_version() { # package wanted
	got=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true)
	if [ "$got" != "$2" ]; then
		echo "subset-serif.sh: need Debian package $1 $2, have '${got:-none}' (apt-get install $1)" >&2
		exit 1
	fi
}
check_version fonts-noto-cjk "$want_noto"
check_version fonttools "$want_fonttools"
echo "$src_sha256  $src" | sha256sum -c --quiet -

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The characters: GB 2312 row by row (rows 1–9 symbols, 16–55 level 1,
# 56–87 level 2), decoded with Python's gb2312 codec, then the extras.
/usr/bin/python3 - "$tmp/chars.txt" <<'PY'
import sys
chars = [chr(c) for c in range(0x20, 0x7F)] + ["\u00b7", "\u3007"]
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.append(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("".join(sorted(set(chars))))
PY

pyftsubset "$src" --font-number=2 \
	--text-file="$tmp/chars.txt" \
	--layout-features= --no-hinting --drop-tables+=vhea,vmtx,VORG \
	--name-IDs=0,1,2,3,4,5,6,7,8,9,11,12,13,14 --name-languages=0x409 \
	--notdef-outline \
	--output-file="$tmp/out.otf"
mv "$tmp/out.otf" "$out"
mkdir -p "$(dirname "$chars")"
cp "$tmp/chars.txt" "$chars"
sha256sum "$out"
