#!/usr/bin/env bash
# Regenerates man/ (one page per command) and completions/ (bash, zsh, fish) from the
# command tree. With --check, fails when the committed files are not current.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[[ "${1:-}" == "--check" ]] && check=true

swift build --product lstore >/dev/null
swift build --product generate-manual >/dev/null
bin="$(swift build --show-bin-path)"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/man" "$out/completions"
# generate-manual drops every non-ASCII character (…, →, —): it reads the command tree
# from this wrapper, which spells each one as an ASCII placeholder, and the pages get
# them back as roff's \[uXXXX] below.
wrapper="$out/lstore"
cat >"$wrapper" <<WRAPPER
#!/usr/bin/env bash
"$bin/lstore" "\$@" | perl -CS -pe 's/([^\\x00-\\x7F])/sprintf("LSTOREU%04XZ", ord(\$1))/ge'
WRAPPER
chmod +x "$wrapper"
# A fixed date keeps the pages reproducible, so CI can compare them byte for byte.
"$bin/generate-manual" "$wrapper" --multi-page --date 2026-01-01 --output-directory "$out/man" >/dev/null
rm "$wrapper"
# git's names: lstore-log.1 (so 'man lstore-log' finds it), LSTORE-LOG in the header and
# in cross references.
for page in "$out"/man/lstore.*.1; do
  name="$(basename "$page" .1)"
  mv "$page" "$out/man/${name//./-}.1"
done
perl -pi -e 's/LSTOREU([0-9A-F]{4})Z/\\[u$1]/g;
  if (/^\.(Dt|Xr) /) { s/\b(lstore|LSTORE)\.([A-Za-z0-9.-]+)/my ($a, $b) = ($1, $2); $b =~ s#\.#-#g; "$a-$b"/ge }' "$out"/man/*.1
# Pages that are not a command's (lstore-revisions(7)) are written by hand in docs/man.
cp docs/man/*.7 "$out/man/"
"$bin/lstore" --generate-completion-script bash >"$out/completions/lstore.bash"
"$bin/lstore" --generate-completion-script zsh >"$out/completions/_lstore"
"$bin/lstore" --generate-completion-script fish >"$out/completions/lstore.fish"

if $check; then
  if ! diff -r man "$out/man" >/dev/null || ! diff -r completions "$out/completions" >/dev/null; then
    diff -r man "$out/man" | head -20 || true
    diff -r completions "$out/completions" | head -20 || true
    echo "generate-docs: man/ or completions/ is out of date; run scripts/generate-docs.sh and commit" >&2
    exit 1
  fi
  echo "generate-docs: man/ and completions/ are current"
else
  rm -rf man completions
  cp -r "$out/man" man
  cp -r "$out/completions" completions
  echo "generate-docs: wrote man/ and completions/"
fi
