#!/usr/bin/env bash
# The GitHub Action's logic: turns the INPUT_* variables that action.yml sets into one shipfront
# command line and runs it. shipfront itself writes the step outputs ($GITHUB_OUTPUT), the job
# summary ($GITHUB_STEP_SUMMARY) and error annotations, so this script runs (and is tested)
# without GitHub. SHIPFRONT_BIN names the binary (default: shipfront on PATH).
set -euo pipefail

# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin=${SHIPFRONT_BIN:-shipfront}
[ -n "$bin" ] || bin=shipfront

# A bad input: an annotation naming it, and exit 2 like shipfront's own usage errors.
fail() {
  error_annotation "shipfront action: invalid input" "$1"
  exit 2
}

# is_true NAME VALUE: succeeds for true, fails for false or empty; any other value is refused.
is_true() {
  # (tr, not ${2,,}: macOS runners may run bash 3.2)
  case "$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" in
    true | yes | 1) return 0 ;;
    false | no | 0 | "") return 1 ;;
    *) fail "input \`$1\` must be true or false, not \`$2\`" ;;
  esac
}

command=${INPUT_COMMAND:-deploy}
argv=()
case "$command" in
  deploy)
    [ -z "${INPUT_TO:-}" ] || fail "input \`to\` is for \`command: rollback\`; a deploy deploys \`dir\`"
    dir=${INPUT_DIR:-dist}
    argv+=(deploy "$dir")
    if [ -n "${INPUT_DELETE:-}" ]; then
      if is_true delete "$INPUT_DELETE"; then argv+=(--delete); else argv+=(--no-delete); fi
    fi
    if is_true spa "${INPUT_SPA:-}"; then argv+=(--spa); fi
    [ -z "${INPUT_MESSAGE:-}" ] || argv+=(--message "$INPUT_MESSAGE")
    [ -z "${INPUT_PREVIEW:-}" ] || argv+=(--preview "$INPUT_PREVIEW")
    ;;
  promote | remove-preview)
    [ -n "${INPUT_PREVIEW:-}" ] || fail "input \`preview\` names the preview to $command"
    [ -z "${INPUT_TO:-}" ] || fail "input \`to\` is for \`command: rollback\`"
    if [ "$command" = promote ]; then
      argv+=(promote "$INPUT_PREVIEW")
    else
      argv+=(previews remove "$INPUT_PREVIEW")
    fi
    ;;
  rollback)
    [ -z "${INPUT_PREVIEW:-}" ] || fail "input \`preview\` is for \`command: deploy\`, \`promote\` or \`remove-preview\`"
    argv+=(rollback)
    [ -z "${INPUT_TO:-}" ] || argv+=(--to "$INPUT_TO")
    [ -z "${INPUT_DELETE:-}" ] || fail "input \`delete\` is for \`command: deploy\`"
    if is_true spa "${INPUT_SPA:-}"; then fail "input \`spa\` is for \`command: deploy\`"; fi
    ;;
  *) fail "input \`command\` must be \`deploy\`, \`rollback\`, \`promote\` or \`remove-preview\`, not \`$command\`" ;;
esac

# Without a bucket anywhere, say so in the action's terms. A config file named by an input or
# variable is left to shipfront, which reports a missing or unreadable one precisely.
if [ -z "${INPUT_BUCKET:-}" ] && [ -z "${SHIPFRONT_BUCKET:-}" ] && [ -z "${INPUT_CONFIG:-}" ] \
  && [ -z "${SHIPFRONT_CONFIG:-}" ] && [[ " ${INPUT_ARGS:-} " != *" --bucket"* ]] \
  && ! grep -Eq '^[[:space:]]*bucket[[:space:]]*=' shipfront.toml 2>/dev/null; then
  fail "no bucket: set the action's \`bucket\` input (or \`bucket\` in shipfront.toml)"
fi

[ -z "${INPUT_BUCKET:-}" ] || argv+=(--bucket "$INPUT_BUCKET")
[ -z "${INPUT_DISTRIBUTION_ID:-}" ] || argv+=(--distribution-id "$INPUT_DISTRIBUTION_ID")
[ -z "${INPUT_PREFIX:-}" ] || argv+=(--prefix "$INPUT_PREFIX")
[ -z "${INPUT_REGION:-}" ] || argv+=(--region "$INPUT_REGION")
[ -z "${INPUT_CONFIG:-}" ] || argv+=(--config "$INPUT_CONFIG")
if is_true dry-run "${INPUT_DRY_RUN:-}"; then argv+=(--dry-run); fi
if is_true wait "${INPUT_WAIT:-}"; then
  [ "$command" != remove-preview ] || fail "input \`wait\` has nothing to wait for when a preview is removed"
  argv+=(--wait)
fi
if is_true atomic "${INPUT_ATOMIC:-}"; then argv+=(--atomic); fi
if [ -n "${INPUT_ARGS:-}" ]; then
  set -f # split on spaces, but never expand globs such as *.map
  # shellcheck disable=SC2206
  extra=($INPUT_ARGS)
  set +f
  [ "${#extra[@]}" -eq 0 ] || argv+=("${extra[@]}")
fi

# The command line, shell-quoted: a value with a line break (a commit message) cannot start a
# line of its own, which the runner would read as a workflow command.
printf 'shipfront'
printf ' %q' "${argv[@]}"
printf '\n'

exec "$bin" "${argv[@]}"
