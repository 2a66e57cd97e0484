# shellcheck shell=bash
# Sourced by the action's scripts.

# error_annotation TITLE MESSAGE: one `::error::` workflow command, escaped as GitHub's toolkit
# does, so that `%` and line breaks (and in the title `:` and `,`) stay inside the annotation.
error_annotation() {
  annotation error "$1" "$2"
}

# warning_annotation TITLE MESSAGE: the same, as a `::warning::`.
warning_annotation() {
  annotation warning "$1" "$2"
}

annotation() {
  local kind=$1 title=${2//%/%25} message=${3//%/%25}
  title=${title//:/%3A}
  message=${message//$'\r'/%0D}
  echo "::$kind title=${title//,/%2C}::${message//$'\n'/%0A}"
}
