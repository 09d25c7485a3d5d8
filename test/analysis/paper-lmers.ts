// The paper's size mixed models as its repository prints them (analysis/lmers/<domain>_lmer_size.txt,
// jennhu/lm-task-demands): fixed-effect estimates and AIC (glmer) or REML criterion (lmer). Facts
// for the tests of the statistics stage, which must reproduce the estimates within 1e-3 and the
// criterion within 0.1. (Standard errors are not compared: at these singular fits they move with the
// row order of the data and the lme4 version.)

export interface PaperLmer {
  criterion: 'AIC' | 'REML';
  value: number;
  nobs: number;
  fixed: Record<string, number>;
}

export const PAPER_LMERS: Record<'digit_mat' | 'crt' | 'lambada' | 'syntax', PaperLmer> = {
  digit_mat: {
    criterion: 'AIC', value: 40125.0, nobs: 31616,
    fixed: { '(Intercept)': -0.001911, model_n_params_log: 0.643993, eval_methodmc: 0.657189, 'model_n_params_log:eval_methodmc': -0.279979 },
  },
  crt: {
    criterion: 'AIC', value: 3362.2, nobs: 3900,
    fixed: { '(Intercept)': -3.9373, model_n_params_log: 1.4848, eval_methodmc: 2.4528, 'model_n_params_log:eval_methodmc': -1.0015 },
  },
  lambada: {
    criterion: 'REML', value: 601113.9, nobs: 133978,
    fixed: { '(Intercept)': -1.8430, model_n_params_log: 0.6539, eval_methodmeta: -4.9230, 'model_n_params_log:eval_methodmeta': 1.8368 },
  },
  syntax: {
    criterion: 'AIC', value: 40480.0, nobs: 37700,
    fixed: { '(Intercept)': 1.67469, model_n_params_log: 0.14072, eval_methodmeta: -2.17708, 'model_n_params_log:eval_methodmeta': 1.09493 },
  },
};
