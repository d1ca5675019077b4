/*-------------------------------------------------------------------------
 *
 * money.h
 *	  Cents arithmetic, late charges and bank days shared with scoring.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_MONEY_H
#define COBRANCA_MONEY_H

#include "postgres.h"

#include "utils/numeric.h"

extern int64 CobrancaNumericToCents(Numeric value, const char *field);
extern Numeric CobrancaCentsToNumeric(int64 cents);
extern void CobrancaLateCharges(int64 balance, int32 late_days, int64 fine_bp,
								int64 interest_bp, bool fine_due,
								int64 *fine, int64 *interest);
extern int	CobrancaNextBankDay(int julian);

#endif							/* COBRANCA_MONEY_H */
