/*
 * search_internal.h - hooks into the iris search loop for tests and
 * benchmarks (not part of the public API).
 */
#ifndef HUELLA_IRIS_SEARCH_INTERNAL_H
#define HUELLA_IRIS_SEARCH_INTERNAL_H

#include "huella/iris.h"

/* The counts one kernel of the search loop computes for a single pair, b
 * rotated by shift as in huella_iris_hamming (HUELLA_E_UNSUPPORTED if this
 * CPU cannot run the kernel).  For proving the kernels equal to the
 * scalar reference. */
huella_status huella_iris_search_counts(huella_iris_kernel kernel, const huella_iris_code *a,
                                        const huella_iris_code *b, int shift, unsigned *disagree,
                                        unsigned *valid, huella_error *err);

#endif
