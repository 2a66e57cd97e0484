# shellcheck shell=bash
# Sourced by the action's scripts.

# error_annotation TITLE MESSAGE: one `::error::` workflow command, escaped as GitHub's toolkit
# does, so that `%` and line breaks (and in the title `:` and `,`) stay inside the annotation.
error_annotation() {
  local title=${1//%/%25} message=${2//%/%25}
  title=${title//:/%3A}
  message=${message//$'\r'/%0D}
  echo "::error title=${title//,/%2C}::${message//$'\n'/%0A}"
}
