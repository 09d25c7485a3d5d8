#!/usr/bin/env bash
# R with lme4 and lmerTest for the `statistics` stage (the paper's mixed models). Debian packages,
# no CRAN access needed. Idempotent: does nothing when Rscript already loads both packages.
set -euo pipefail
if command -v Rscript >/dev/null && Rscript -e 'suppressMessages({library(lme4); library(lmerTest)})' >/dev/null 2>&1; then
  echo "R with lme4 and lmerTest is installed"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install-r.sh: run as root, or: sudo apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends r-base-core r-cran-lme4 r-cran-lmertest >/dev/null
Rscript -e 'suppressMessages({library(lme4); library(lmerTest)}); cat("R", R.version$major, ".", R.version$minor, " lme4 ", as.character(packageVersion("lme4")), " lmerTest ", as.character(packageVersion("lmerTest")), "\n", sep="")'
