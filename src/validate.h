/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  Value checks used by the tables' CHECK constraints and by functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_VALIDATE_H
#define COBRANCA_VALIDATE_H

#include "postgres.h"

extern bool CobrancaIsUF(const char *uf);
extern bool CobrancaIsChannel(const char *channel);
extern void CobrancaCheckTimezone(const char *field, const char *tzname);
extern char *CobrancaShowValue(const char *value);

#endif							/* COBRANCA_VALIDATE_H */
