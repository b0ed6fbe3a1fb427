/*
 * eval/pairs_internal.h - fold accuracy and the demographic report, used
 * by run.c (eval/pairs.c).  Internal to libhuella.
 */
#ifndef HUELLA_EVAL_PAIRS_INTERNAL_H
#define HUELLA_EVAL_PAIRS_INTERNAL_H

#include "huella/eval.h"

/* Fill r->has_folds, folds, accuracy, accuracy_std, tar_far1000 from the
 * scores of p's pairs (genuine[i] for p->genuine[i], and so on). */
huella_status huella_eval_fold_accuracy(const huella_pair_list *p, const double *genuine,
                                        const double *impostor, huella_score_kind kind,
                                        huella_eval_result *r, huella_error *err);

/* Fill r's group fields from the pairs behind r's scores. */
huella_status huella_eval_group_report(const huella_group_map *g, const huella_pair *gp, size_t ng,
                                       const huella_pair *ip, size_t ni, huella_eval_result *r,
                                       huella_error *err);

#endif
