#!/usr/bin/env bash
# ctest completions: the completion scripts the build made from the CLI
# (`vmseal --completion SHELL`) complete what a user types. bash is run for
# real; zsh and fish are syntax-checked where those shells are installed.
# Exit 0 ok, 1 failure.
set -u
dir=${1:?usage: check_completions.sh BUILD_DIR/completions}
fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=/dev/null
source "$dir/vmseal.bash" || fail "the bash completion does not load"
complete_words() {  # the words typed so far, the last one being completed
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _vmseal; echo "${COMPREPLY[*]}"
}
[ "$(complete_words vmseal r)" = run ] || fail "vmseal r<TAB> gives '$(complete_words vmseal r)', not run"
[ "$(complete_words vmseal run --rel)" = --relro ] || fail "vmseal run --rel<TAB>: '$(complete_words vmseal run --rel)'"
[ "$(complete_words vmseal inspect --a)" = --all ] || fail "vmseal inspect --a<TAB>: '$(complete_words vmseal inspect --a)'"
[ "$(complete_words vmseal se)" = seal ] || fail "vmseal se<TAB> gives '$(complete_words vmseal se)', not seal"
[ "$(complete_words vmseal seal --dr)" = --dry-run ] || fail "vmseal seal --dr<TAB>: '$(complete_words vmseal seal --dr)'"
grep -qw true <<<"$(complete_words vmseal run -- tru)" || fail "vmseal run -- tru<TAB> does not offer true"
grep -q '^#compdef vmseal' "$dir/vmseal.zsh" || fail "the zsh completion has no #compdef"
grep -q 'complete -c vmseal -n __fish_use_subcommand -a run' "$dir/vmseal.fish" || fail "the fish completion lacks run"
grep -q 'complete -c vmseal -n __fish_use_subcommand -a seal' "$dir/vmseal.fish" || fail "the fish completion lacks seal"
if command -v zsh >/dev/null; then zsh -n "$dir/vmseal.zsh" || fail "zsh -n"; else echo "note: zsh not installed; its script was not syntax-checked"; fi
if command -v fish >/dev/null; then fish -n "$dir/vmseal.fish" || fail "fish -n"; else echo "note: fish not installed; its script was not syntax-checked"; fi
echo "completions: bash completes commands, options and the program after --; zsh and fish scripts made"
