/*-------------------------------------------------------------------------
 *
 * cobranca.c
 *	  Module entry point: module magic, GUCs and the worker's registration.
 *	  Nothing else lives here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "cobranca.h"
#include "worker.h"

PG_MODULE_MAGIC;

char	   *cobranca_database = NULL;
int			cobranca_naptime = 60;
int			cobranca_max_contacts_per_day = 1;
char	   *cobranca_master_key_file = NULL;
int			cobranca_job_run_retention = 30;
int			cobranca_agreement_grace_days = 10;
int			cobranca_audit_retention_days = 0;
int			cobranca_kpi_refresh_interval = 600;
int			cobranca_partition_months_ahead = 3;

void		_PG_init(void);

static bool
check_database(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("cobranca.database must name a database.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("Database names are at most %d bytes long.",
							NAMEDATALEN - 1);
		return false;
	}
	return true;
}

static bool
check_master_key_file(char **newval, void **extra, GucSource source)
{
	/* empty means "a key file in the data directory, created on first use" */
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!is_absolute_path(*newval))
	{
		GUC_check_errdetail("cobranca.master_key_file must be an absolute path.");
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("cobranca.database",
							   "Database in which the cobranca background worker runs the collection cycle.",
							   NULL,
							   &cobranca_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   check_database, NULL, NULL);

	DefineCustomIntVariable("cobranca.naptime",
							"Seconds between two collection cycles of the background worker.",
							NULL,
							&cobranca_naptime,
							60, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cobranca.max_contacts_per_day",
							"Most contacts one payer may receive in one day, all channels together.",
							NULL,
							&cobranca_max_contacts_per_day,
							1, 1, 10,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("cobranca.master_key_file",
							   "File holding the master key that wraps the key encrypting payer documents.",
							   "Empty means a file named cobranca_master.key in the data directory, created on first use.",
							   &cobranca_master_key_file,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_master_key_file, NULL, NULL);

	DefineCustomIntVariable("cobranca.job_run_retention",
							"Days for which the history of job runs is kept.",
							NULL,
							&cobranca_job_run_retention,
							30, 1, 3650,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cobranca.audit_retention_days",
							"Days after which sealed audit rows may be purged by the seal_audit job; 0 keeps them forever.",
							"Unsealed rows and rows of a creditor under legal hold (cobranca.audit_hold) are never purged.",
							&cobranca_audit_retention_days,
							0, 0, 36500,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cobranca.agreement_grace_days",
							"Days an agreement installment may stay unpaid after its due date before the agreement breaks.",
							"A broken agreement restores the covered invoices' debt (less what its installments paid).",
							&cobranca_agreement_grace_days,
							10, 0, 365,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cobranca.kpi_refresh_interval",
							"Least time between two KPI snapshots of the same day: a cycle sooner than that keeps the one stored.",
							"0 stores a new snapshot at every cycle.",
							&cobranca_kpi_refresh_interval,
							600, 0, 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cobranca.partition_months_ahead",
							"Months after the current one for which the job maintain_partitions makes the monthly partitions.",
							"Rows of a month without partition go to the default partition; see doc/partitioning.md.",
							&cobranca_partition_months_ahead,
							3, 0, 36,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("cobranca");

	/*
	 * The background worker exists only when the library is preloaded, and
	 * never while pg_upgrade runs the server.  Without preloading the jobs
	 * still run through cobranca.run_jobs().
	 */
	if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
		CobrancaRegisterWorker();
}
