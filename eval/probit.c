/*
 * probit.c - the inverse of the standard normal CDF, for DET axes.
 *
 * Contract: huella_probit(p) returns x with Phi(x) = p to full double
 * accuracy for every p in (0, 1), including subnormal p; it is exactly
 * odd about 0.5 (probit(1 - p) == -probit(p) whenever 1 - p is exact);
 * p == 0 gives -INFINITY, p == 1 gives +INFINITY, anything else outside
 * [0, 1] (and NaN) gives NaN.  Pure function, no state.
 *
 * Method: P. J. Acklam's rational approximation (2003, relative error
 * below 1.15e-9), followed by one step of Halley's method on
 * f(x) = Phi(x) - p with Phi computed through erfc() from <math.h>.
 * Halley's step is cubically convergent, so one step from 1e-9 reaches
 * the accuracy of erfc itself.  The work is always done in the lower tail
 * q = min(p, 1 - p), where Phi(x) - q keeps its relative precision (the
 * upper tail of Phi rounds to 1 long before the lower tail underflows),
 * and the sign is restored at the end.
 */
#include "huella/eval.h"

#include <math.h>

/* Coefficients of Acklam's approximation: central region ... */
static const double A[6] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                            1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
static const double B[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                            6.680131188771972e+01, -1.328068155288572e+01};
/* ... and tails. */
static const double C[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                            -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
static const double D[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                            3.754408661907416e+00};

/* Where the approximation switches from the tail formula to the central one. */
#define P_LOW 0.02425

#define SQRT_2PI 2.50662827463100050242 /* sqrt(2 pi) */
#define SQRT1_2  0.70710678118654752440 /* 1 / sqrt(2) */

/* Acklam's estimate for 0 < q <= 0.5 (so the result is <= 0). */
static double acklam_lower(double q)
{
    if (q < P_LOW) {
        double t = sqrt(-2.0 * log(q));
        return (((((C[0] * t + C[1]) * t + C[2]) * t + C[3]) * t + C[4]) * t + C[5]) /
               ((((D[0] * t + D[1]) * t + D[2]) * t + D[3]) * t + 1.0);
    }
    double u = q - 0.5;
    double r = u * u;
    return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * u /
           (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0);
}

double huella_probit(double p)
{
    if (isnan(p) || p < 0.0 || p > 1.0)
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;

    /* For p >= 0.5, 1 - p is exact (Sterbenz), so nothing is lost here. */
    double q = p <= 0.5 ? p : 1.0 - p;
    double x = acklam_lower(q);

    /* Halley: x -= u / (1 + x u / 2), u = (Phi(x) - q) / phi(x). */
    double e = 0.5 * erfc(-x * SQRT1_2) - q;
    double u = e * SQRT_2PI * exp(0.5 * x * x);
    /* In the deepest subnormal tail exp() overflows; the estimate is then
     * already as good as the subnormal q it was computed from. */
    if (isfinite(u))
        x -= u / (1.0 + 0.5 * x * u);

    return p <= 0.5 ? x : -x;
}
