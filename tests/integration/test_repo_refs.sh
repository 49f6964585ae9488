#!/usr/bin/env bash
# Every reference in the repository points inside it.
#
# Fails, printing FILE:LINE for each offence, when a tracked file
#  1. names a path outside the repository: the shared folder beside the
#     checkout or its reference folder,
#     the outside reference files (osquery-wire.md, osquery-host.md,
#     field.md, DESIGN.md unless the repository has one), or an absolute
#     /work/ path. bench/ may run the anchor harness (../shared/anchor) as
#     a tool, provided bench/README.md says how to get the same figures
#     without it (a "## Without the anchor harness" section);
#  2. cites docs/NAME.md, or has a relative Markdown link, that does not
#     exist (for a link with #anchor: no heading of that name);
#  3. cites "protocol.md §N" or "compat.md §N" where that document has no
#     section N.
set -u
cd "${OSQ_SOURCE:-$(dirname "$0")/../..}" || exit 2

self=tests/integration/test_repo_refs.sh
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else # an exported tree without .git: every file but build output
  mapfile -t files < <(find . -type f ! -path './.git/*' ! -path './build*' |
                       sed 's|^\./||')
fi
fail=0
offend() { # file:line: text -- why
  printf '%s  <- %s\n' "$1" "$2"
  fail=1
}

# ---- 1. paths outside the repository ------------------------------------
outside='\.\./shared|shared/[r]eference|osquery-wire\.md|osquery-host\.md|(^|[^A-Za-z_-])field\.md|/work/'
have_design=0
for f in "${files[@]}"; do
  [[ $f == DESIGN.md || $f == */DESIGN.md ]] && have_design=1
done
((have_design)) || outside+='|DESIGN\.md'

# Files to read: all but this one (it names the patterns) and non-files.
scan=()
for f in "${files[@]}"; do
  [[ $f != "$self" && -f $f ]] && scan+=("$f")
done
grep_all() { # grep -H over every scanned file; extra args first
  printf '%s\0' "${scan[@]}" | xargs -0 grep -HI "$@" -- 2>/dev/null
}

bench_uses_anchor=0
while IFS= read -r hit; do
  f=${hit%%:*}
  text=${hit#*:*:}
  if [[ $f == bench/* ]]; then
    # the anchor harness is a tool bench/ may run; nothing else outside
    rest=${text//..\/shared\/anchor/}
    if [[ $rest != "$text" ]]; then
      bench_uses_anchor=1
      grep -qE "$outside" <<<"$rest" || continue
    fi
  fi
  offend "$hit" "path outside the repository"
done < <(grep_all -nE "$outside")
if ((bench_uses_anchor)) &&
   ! grep -q '^## Without the anchor harness' bench/README.md 2>/dev/null; then
  offend "bench/README.md" "bench/ uses ../shared/anchor but has no '## Without the anchor harness' section"
fi

# ---- 2. docs/NAME.md citations and relative Markdown links --------------
while IFS=: read -r f line doc; do
  [[ -f $doc ]] || offend "$f:$line: $doc" "no such file in the repository"
done < <(grep_all -noE 'docs/[A-Za-z0-9_-]+\.md')
slugs() { # GitHub's anchors for the headings of a Markdown file
  grep -E '^#+ ' "$1" | sed -E 's/^#+ +//' | tr 'A-Z' 'a-z' |
    sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}
while IFS=: read -r f line link; do
  [[ $f == *.md ]] || continue
  target=${link#](}
  target=${target%)}
  [[ $target == *://* || $target == mailto:* ]] && continue
  anchor=
  [[ $target == *#* ]] && anchor=${target#*#}
  target=${target%%#*}
  path=$(dirname "$f")/$target
  [[ -z $target ]] && path=$f
  if [[ ! -e $path ]]; then
    offend "$f:$line: $target" "link to a file that does not exist"
  elif [[ -n $anchor && $path == *.md ]] &&
       ! slugs "$path" | grep -qxF -- "$anchor"; then
    offend "$f:$line: $target#$anchor" "no such heading in $path"
  fi
done < <(grep_all -noE '\]\([^)[:space:]]+\)')

# ---- 3. section numbers cited in protocol.md / compat.md ----------------
sections() { # the N, N.M of "## N." / "### N.M" headings
  grep -oE '^#{2,3} [0-9]+(\.[0-9]+)?' "$1" | sed 's/^#* //'
}
declare -A known
for doc in protocol compat; do
  [[ -f docs/$doc.md ]] || continue
  while read -r s; do known[$doc:$s]=1; done < <(sections "docs/$doc.md")
done
# a citation: "protocol.md §4.4" (a later "§5" in the same list counts too)
while IFS= read -r hit; do
  f=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  text=${rest#*:}
  doc=${text%%.md*}
  for s in $(grep -oE '§[0-9]+(\.[0-9]+)?' <<<"$text" | tr -d '§'); do
    [[ -n ${known[$doc:$s]:-} ]] ||
      offend "$f:$line: $doc.md §$s" "docs/$doc.md has no section $s"
  done
done < <(grep_all -noE '(protocol|compat)\.md[^§]{0,3}(§[0-9]+(\.[0-9]+)?[,; and-]*)+')

if ((fail)); then
  echo "FAIL: references above point outside the repository or at nothing" >&2
  exit 1
fi
echo "ok: ${#files[@]} files, every reference stays inside the repository"
