/*-------------------------------------------------------------------------
 *
 * kpi.c
 *	  Settings of the KPI snapshots, for the SQL that refreshes them.
 *
 * The setting cobranca.kpi_refresh_interval is registered in cobranca.c;
 * reading it through a C function makes sure the library is loaded, so the
 * value is the validated one (not a placeholder left by postgresql.conf).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "cobranca.h"

PG_FUNCTION_INFO_V1(cobranca_kpi_refresh_seconds);
Datum
cobranca_kpi_refresh_seconds(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(cobranca_kpi_refresh_interval);
}
