/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The audit log: appending an entry from C.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_AUDIT_H
#define COBRANCA_AUDIT_H

#include "postgres.h"

/*
 * Append one row to cobranca.audit_log, in the current transaction, with
 * the session's who/when/where; returns its id.  old/new values are jsonb
 * datums (pass the null flags), reason may be NULL.
 */
extern int64 CobrancaAuditAppend(const char *table_name, const char *operation,
								 bool has_row, int64 row_id,
								 bool has_creditor, int64 creditor_id,
								 Datum old_values, bool old_null,
								 Datum new_values, bool new_null,
								 const char *reason);

#endif							/* COBRANCA_AUDIT_H */
