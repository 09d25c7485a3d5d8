// The paper's size mixed models (its analysis/lmers.R, `fit_size_model`), fitted by R's lme4 and
// lmerTest rather than re-implemented: glmer/lmer have no JS equivalent whose optimiser, Laplace
// approximation and Satterthwaite df would reproduce the paper's numbers. This module holds the R
// program (its text enters the statistics stage's key) and what the stage needs to call it.

import type { Domain } from './domains.js';
import { domainDef } from './domains.js';

/** The response of a domain's model: a binary verdict (glmer, binomial) or a log probability (lmer). */
export function sizeModelOutcome(domain: Domain): 'binary' | 'logprob' {
  return domainDef(domain).metric === 'correct' ? 'binary' : 'logprob';
}

/** The formula as the paper wrote it (and as summary() prints it). */
export function sizeModelFormula(domain: Domain): string {
  return domainDef(domain).formula;
}

/** Output names (and file names without extension) of the statistics stage for one domain. */
export function sizeModelFiles(domain: Domain): Array<{ name: string; file: string }> {
  return [
    { name: `${domain}_lmer_size`, file: `${domain}_lmer_size.txt` },
    { name: `${domain}_lmer_size_effects`, file: `${domain}_lmer_size.csv` },
  ];
}

/** R packages the program loads; a missing one fails the stage at plan time. */
export const R_PACKAGES = ['lme4', 'lmerTest'] as const;

/** How to install R and the packages (Debian/Ubuntu; CRAN otherwise). */
export const R_INSTALL_HINT =
  'install R with lme4 and lmerTest: `apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest` ' +
  '(Debian/Ubuntu), or `install.packages(c("lme4", "lmerTest"))` in R';

/**
 * Prints one line per package: `<name> <version>` or `<name> MISSING`, then `R <version>`.
 * Run with `Rscript -e`.
 */
export const R_CHECK_PROGRAM = [
  `for (p in c(${R_PACKAGES.map((p) => JSON.stringify(p)).join(', ')})) {`,
  '  v <- tryCatch(as.character(utils::packageVersion(p)), error = function(e) "MISSING")',
  '  cat(p, v, "\\n")',
  '}',
  'cat("R", paste(R.version$major, R.version$minor, sep = "."), "\\n")',
  // The BLAS build changes a singular fit's estimates in the third decimal: it is part of the key.
  'cat("BLAS", tryCatch(sessionInfo()$BLAS, error = function(e) "unknown"), "\\n")',
].join('\n');

/**
 * The fit, as lmers.R did it: read the long table, factor model_family and eval_method (R's
 * alphabetical levels), model_n_params_log = log10(billions), response_correct 1 for "True"; glmer
 * (binomial, logit) for a binary outcome, lmerTest's lmer (REML, Satterthwaite) for logprob; print
 * summary() to the text file. response_correct is read as text so that "True" means what it meant
 * to the paper whichever R version's read.csv would convert it. The data frame is named `df` so
 * that summary() prints `Data: df` as the paper's files do.
 * Args: long-table CSV, outcome (binary|logprob), summary path, effects CSV path.
 */
export const R_FIT_PROGRAM = String.raw`
args <- commandArgs(trailingOnly = TRUE)
long_csv <- args[1]; outcome <- args[2]; summary_path <- args[3]; effects_path <- args[4]
suppressPackageStartupMessages({ library("lme4"); library("lmerTest") })

header <- names(read.csv(long_csv, nrows = 1, check.names = FALSE))
text_cols <- intersect(c("response_correct", "eval_method", "model_family"), header)
df <- read.csv(long_csv, colClasses = setNames(rep("character", length(text_cols)), text_cols))
df$model_family <- factor(df$model_family)
df$eval_method <- factor(df$eval_method)
df$model_n_params_log <- log10(df$model_n_params)

# The paper called glmer/lmer with lme4's default controls; they are written out here (lme4
# 1.1.x's defaults) so that a new lme4 whose defaults differ cannot move the fits silently.
glmer_control <- glmerControl(optimizer = c("bobyqa", "Nelder_Mead"), tolPwrss = 1e-7,
  optCtrl = list(), boundary.tol = 1e-5, check.conv.grad = .makeCC("warning", tol = 2e-3, relTol = NULL))
lmer_control <- lmerControl(optimizer = "nloptwrap", boundary.tol = 1e-5,
  optCtrl = list(algorithm = "NLOPT_LN_BOBYQA", xtol_abs = 1e-8, ftol_abs = 1e-8, maxeval = 1e5),
  check.conv.grad = .makeCC("warning", tol = 2e-3, relTol = NULL))

warned <- character(0)
keep_warning <- function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") }
t0 <- proc.time()[["elapsed"]]
withCallingHandlers({
  if (outcome == "binary") {
    df$response_correct <- ifelse(df$response_correct == "True", 1, 0)
    m <- glmer(
      response_correct ~ model_n_params_log*eval_method + (model_n_params_log*eval_method | model_family),
      data=df,
      family=binomial(link="logit"),
      nAGQ=1,
      control=glmer_control
    )
  } else {
    m <- lmer(
      logprob ~ model_n_params_log*eval_method + (model_n_params_log*eval_method | model_family),
      data=df,
      REML=TRUE,
      control=lmer_control
    )
  }
}, warning = keep_warning)
elapsed <- proc.time()[["elapsed"]] - t0

s <- summary(m)
# The paper printed from a wide console: its Corr columns sit on one line.
options(width = 120)
sink(summary_path)
print(s)
sink()

num <- function(x) sprintf("%.17g", x)
co <- s$coefficients
is_lmer <- ncol(co) == 5
fixed <- data.frame(
  effect = "fixed", group = "", term = rownames(co), term2 = "",
  estimate = num(co[, "Estimate"]), std_error = num(co[, "Std. Error"]),
  statistic = num(co[, if (is_lmer) "t value" else "z value"]),
  df = if (is_lmer) num(co[, "df"]) else "",
  p_value = num(co[, ncol(co)]), variance = "", std_dev = "", correlation = "",
  stringsAsFactors = FALSE)
vc <- as.data.frame(VarCorr(m))
random <- data.frame(
  effect = "random", group = vc$grp, term = ifelse(is.na(vc$var1), "", vc$var1),
  term2 = ifelse(is.na(vc$var2), "", vc$var2),
  estimate = "", std_error = "", statistic = "", df = "", p_value = "",
  variance = ifelse(is.na(vc$var2), num(vc$vcov), ""),
  std_dev = ifelse(is.na(vc$var2), num(vc$sdcor), ""),
  correlation = ifelse(is.na(vc$var2), "", num(vc$sdcor)),
  stringsAsFactors = FALSE)
crit <- if (is_lmer) c(REML = unname(s$AICtab[["REML"]])) else s$AICtab
fit <- data.frame(
  effect = "fit", group = "", term = c(names(crit), "nobs", "singular", "fit_seconds"), term2 = "",
  estimate = c(num(unname(crit)), as.character(nobs(m)), as.character(isSingular(m)), num(elapsed)),
  std_error = "", statistic = "", df = "", p_value = "", variance = "", std_dev = "", correlation = "",
  stringsAsFactors = FALSE)
write.csv(rbind(fixed, random, fit), effects_path, row.names = FALSE)
for (w in unique(warned)) cat("WARNING:", gsub("\n", " ", w), "\n")
`;
