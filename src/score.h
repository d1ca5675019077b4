/*-------------------------------------------------------------------------
 *
 * score.h
 *	  The payment-probability model and the priority, shared by the
 *	  SQL-callable functions of score.c and the one-pass scoring of
 *	  score_batch.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_SCORE_H
#define COBRANCA_SCORE_H

/* sigmoid(coef[0] + sum coef[j+1] * x[j]) */
extern double CobrancaLogisticScore(const double *coef, int ncoef,
									const double *x, int nx);

/* errors out unless ncoef = nx + 1 */
extern void CobrancaCheckModelSizes(int ncoef, int nx);

/* expected recovery raised by urgency, in the unit of amount */
extern double CobrancaPriority(double probability, double amount,
							   int days_to_limitation, int days_overdue,
							   bool rn593, int notice_day);

#endif							/* COBRANCA_SCORE_H */
