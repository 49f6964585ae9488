#!/bin/sh
# Rewrite flag reads from the string form to the typed form (flags.h):
#
#   osq_flag_bool("verbose")          -> OSQ_FLAG_BOOL(verbose)
#   osq_flag_set("x", v, err, n)      -> OSQ_FLAG_SET(x, v, err, n)
#   osq_flag_str(name)  (not a quoted literal: a name chosen at run time)
#                                     -> osq_flag_str_by_name(name)
#
# and the same for str, int, uint, double, was_set, is_default and
# set_default. The flag type names OSQ_FLAG_BOOL .. OSQ_FLAG_STRING (when
# not called like a reader) become OSQ_FT_BOOL .. OSQ_FT_STRING. osq_flag_set with a non-literal name stays as it is (it is
# the by-name setter). A flag read as a type it is not declared with, or a
# name not declared in src/core/flag_list.def, then fails to compile,
# naming it (e.g. "OSQ_BOOL_FLAG_verbos undeclared").
#
# Usage: scripts/convert-flag-reads.sh [DIR...]   (default: src tests
# examples bench fuzz under the repository root). Edits *.c and *.h in
# place; running it again changes nothing. Prints the files it changed.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$#" -eq 0 ]; then
  set --
  for d in src tests examples bench fuzz; do
    [ -d "$root/$d" ] && set -- "$@" "$root/$d"
  done
fi

ops='bool|str|int|uint|double|was_set|is_default|set_default'
types='BOOL|INT32|INT64|UINT32|UINT64|DOUBLE|STRING'
find "$@" -type f \( -name '*.c' -o -name '*.h' \) \
  ! -path '*/src/core/flags.c' ! -path '*/src/core/flags.h' -print |
  while IFS= read -r f; do
    grep -Eq "\\bosq_flag_($ops|set)\\(|\\bOSQ_FLAG_($types)\\b" "$f" ||
      continue
    before=$(cksum <"$f")
    perl -0pi -e '
      s/\bosq_flag_('"$ops"'|set)\(\s*"([A-Za-z_][A-Za-z0-9_]*)"/"OSQ_FLAG_" . uc($1) . "($2"/ge;
      s/\bosq_flag_('"$ops"')\(/osq_flag_$1_by_name(/g;
      s/\bOSQ_FLAG_('"$types"')\b(?!\s*\()/OSQ_FT_$1/g;
    ' "$f"
    [ "$(cksum <"$f")" = "$before" ] || echo "$f"
  done
