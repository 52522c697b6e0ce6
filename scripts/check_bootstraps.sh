#!/usr/bin/env bash
# After `sam build`: every function of template.yaml must have an arm64 `bootstrap` within
# issue 5's size budget (6 MB, 3 MB as a deployment zip), that needs no glibc symbol newer
# than provided.al2023's glibc (2.34); prints the sizes and the newest glibc version of each.
set -euo pipefail
max_bootstrap=6000000
max_zip=3000000
max_glibc=2.34
over=0
build_dir=${1:?usage: check_bootstraps.sh SAM_BUILD_DIR}
functions=$(python3 "$(dirname "$0")/create_table.py" --list-functions)
for function in $functions; do
  bootstrap="$build_dir/$function/bootstrap"
  [ -x "$bootstrap" ] || { echo "missing $bootstrap"; exit 1; }
  if ! od -An -tx1 -j18 -N2 "$bootstrap" | grep -q 'b7 00'; then
    echo "$bootstrap is not an aarch64 ELF"; exit 1
  fi
  zipped=$(python3 -c 'import io, sys, zipfile
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buffer.getvalue()))' "$bootstrap")
  size=$(stat -c %s "$bootstrap")
  # The versioned symbols the bootstrap needs from glibc (its .gnu.version_r section).
  glibc=$(readelf --wide --version-info "$bootstrap" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
    | sort -V | tail -n 1)
  printf '%-16s bootstrap %9d bytes (arm64), zipped %9d bytes, needs glibc %s\n' \
    "$function" "$size" "$zipped" "${glibc:-none}"
  if [ -n "$glibc" ] && [ "$(printf '%s\n%s\n' "$glibc" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
    echo "  needs glibc $glibc: provided.al2023 has $max_glibc; the function would not start"
    readelf --wide --dyn-syms "$bootstrap" | grep -o "[A-Za-z0-9_]*@GLIBC_$glibc" | sort -u | sed 's/^/    /'
    over=1
  fi
  if [ "$size" -gt "$max_bootstrap" ] || [ "$zipped" -gt "$max_zip" ]; then
    echo "  over the size budget ($max_bootstrap bytes, zip $max_zip bytes): docs/performance.md"
    over=1
  fi
done
exit "$over"
