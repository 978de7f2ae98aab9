#!/usr/bin/env bash
# The HTML validity test runs the W3C Nu HTML Checker (vnu.jar from npm), which needs
# Java 11+; npm installs the jar. Both come from Debian when missing.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
java -version 2>&1 | head -1
