/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker that runs the collection cycle by itself.
 *
 * With shared_preload_libraries = 'cobranca' the postmaster starts one
 * worker once recovery has finished.  It connects to cobranca.database and,
 * every cobranca.naptime seconds, runs one collection cycle there: the
 * same cobranca.run_jobs() a DBA can call by hand (src/sql/90_jobs.sql),
 * which runs every enabled job of cobranca.job in its own subtransaction
 * and logs each run in cobranca.job_run.
 *
 * The worker
 *	- runs nothing while the server is in recovery (a standby),
 *	- skips a cycle when the extension is not installed in its database,
 *	- runs nothing in a BI replica: a database that subscribes, by logical
 *	  replication, to tables of schema cobranca (the test of
 *	  cobranca.is_bi_replica(), src/sql/93_replica.sql) receives what the
 *	  primary's jobs wrote and must not write it a second time,
 *	- skips a cycle, without waiting, while another session runs one (both
 *	  take the same advisory lock; a DBA's run_jobs() waits instead),
 *	- survives an ERROR that escapes the cycle (a cancelled statement, a
 *	  broken job registry): it rolls the cycle back, writes the error to the
 *	  server log and to cobranca.job_run, and carries on,
 *	- re-reads its settings on SIGHUP and exits, to be restarted by the
 *	  postmaster, when cobranca.database names another database,
 *	- exits promptly on SIGTERM, even in the middle of a job.
 *
 * One cycle is one transaction: a crash (even kill -9) in the middle of it
 * rolls back everything the cycle did, and the next cycle, after the
 * postmaster has restarted the worker, does it again.  The jobs are
 * idempotent for a given instant, so work is neither repeated nor lost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cobranca.h"
#include "worker.h"

#define WORKER_NAME "cobranca worker"

#define CYCLE_LOCK_SQL \
	"SELECT pg_catalog.pg_try_advisory_xact_lock(" \
	CppAsString2(COBRANCA_CYCLE_LOCK_KEY1) ", " \
	CppAsString2(COBRANCA_CYCLE_LOCK_KEY2) ")"

/*
 * The test of cobranca.is_bi_replica(), kept here so that it works whatever
 * version of the extension's SQL is installed.
 */
#define REPLICA_SQL \
	"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_subscription_rel sr " \
	"JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid " \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE n.nspname = 'cobranca')"

#define CYCLE_SQL \
	"SELECT pg_catalog.count(*), pg_catalog.count(error) FROM cobranca.run_jobs()"

#define FAILURE_SQL \
	"INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, error, sqlstate, pid) " \
	"VALUES (pg_catalog.nextval('cobranca.job_cycle_seq'), 'run_jobs', $1, $1, " \
	"pg_catalog.clock_timestamp(), NULL, $2, $3, pg_catalog.pg_backend_pid())"

/* whether the last pass found the cycle lock taken (and said so) */
static bool busy_reported = false;

/* whether the last pass found the database to be a BI replica (and said so) */
static bool replica_reported = false;

/* what one pass of the loop did, for the server log */
typedef enum CycleOutcome
{
	CYCLE_RAN,
	CYCLE_NO_EXTENSION,
	CYCLE_REPLICA,
	CYCLE_BUSY
} CycleOutcome;

/*
 * Registers the worker with the postmaster.  Called from _PG_init, only
 * while shared_preload_libraries is being processed.
 */
void
CobrancaRegisterWorker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = COBRANCA_WORKER_RESTART_SECS;
	strlcpy(worker.bgw_library_name, "cobranca", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "cobranca_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, WORKER_NAME, BGW_MAXLEN);
	strlcpy(worker.bgw_type, WORKER_NAME, BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/*
 * Runs one cycle in one transaction.  Returns what happened; an ERROR
 * propagates to the caller with the transaction still open.
 */
static CycleOutcome
RunCycleTransaction(int64 *jobs, int64 *failed)
{
	CycleOutcome outcome;
	bool		isnull;
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!OidIsValid(get_extension_oid("cobranca", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		return CYCLE_NO_EXTENSION;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	pgstat_report_activity(STATE_RUNNING, REPLICA_SQL);
	ret = SPI_execute(REPLICA_SQL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not check for a subscription: SPI code %d", ret);
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
								   SPI_tuptable->tupdesc, 1, &isnull)))
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return CYCLE_REPLICA;
	}

	pgstat_report_activity(STATE_RUNNING, CYCLE_LOCK_SQL);
	ret = SPI_execute(CYCLE_LOCK_SQL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not try the collection cycle lock: SPI code %d", ret);

	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1, &isnull)))
		outcome = CYCLE_BUSY;
	else
	{
		pgstat_report_activity(STATE_RUNNING, CYCLE_SQL);
		ret = SPI_execute(CYCLE_SQL, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not run the collection cycle: SPI code %d", ret);
		*jobs = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
		*failed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull));
		outcome = CYCLE_RAN;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return outcome;
}

/*
 * Writes an error that escaped the cycle into cobranca.job_run, as a row
 * for the pseudo-job "run_jobs", in a transaction of its own.  If even that
 * fails (the extension was dropped meanwhile, say), the server log has it.
 */
static void
RecordCycleFailure(MemoryContext loop_cxt, ErrorData *cycle_error,
				   TimestampTz started)
{
	PG_TRY();
	{
		Oid			argtypes[3] = {TIMESTAMPTZOID, TEXTOID, TEXTOID};
		Datum		values[3];
		char		nulls[3] = {' ', ' ', ' '};

		values[0] = TimestampTzGetDatum(started);
		values[1] = CStringGetTextDatum(cycle_error->message ? cycle_error->message : "unknown error");
		values[2] = CStringGetTextDatum(unpack_sql_state(cycle_error->sqlerrcode));

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (OidIsValid(get_extension_oid("cobranca", true)))
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			pgstat_report_activity(STATE_RUNNING, FAILURE_SQL);
			if (SPI_execute_with_args(FAILURE_SQL, 3, argtypes, values, nulls,
									  false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record the failed collection cycle");
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(loop_cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/*
 * One pass: a cycle, with any ERROR caught, logged and rolled back so that
 * the worker lives on.
 */
static void
RunCycle(MemoryContext loop_cxt)
{
	TimestampTz started = GetCurrentTimestamp();
	CycleOutcome outcome = CYCLE_RAN;
	int64		jobs = 0;
	int64		failed = 0;
	ErrorData  *cycle_error = NULL;

	PG_TRY();
	{
		outcome = RunCycleTransaction(&jobs, &failed);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(loop_cxt);
		EmitErrorReport();
		cycle_error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(loop_cxt);

	if (cycle_error != NULL)
	{
		ereport(LOG,
				(errmsg("%s: collection cycle in database \"%s\" failed and was rolled back; the next one starts in %d s",
						WORKER_NAME, cobranca_database, cobranca_naptime),
				 errdetail("%s", cycle_error->message ? cycle_error->message : "unknown error")));
		RecordCycleFailure(loop_cxt, cycle_error, started);
		MemoryContextSwitchTo(loop_cxt);
	}
	else if (outcome == CYCLE_NO_EXTENSION)
		ereport(DEBUG1,
				(errmsg("%s: extension \"cobranca\" is not installed in database \"%s\"; cycle skipped",
						WORKER_NAME, cobranca_database)));
	else if (outcome == CYCLE_REPLICA)
		ereport(replica_reported ? DEBUG1 : LOG,
				(errmsg("%s: database \"%s\" is a BI replica (it subscribes to tables of schema cobranca); no collection cycle runs here",
						WORKER_NAME, cobranca_database),
				 errhint("The jobs run on the primary.  Dropping the subscription makes this database run them.")));
	else if (outcome == CYCLE_BUSY)
		ereport(busy_reported ? DEBUG1 : LOG,
				(errmsg("%s: another session is running a collection cycle; cycle skipped",
						WORKER_NAME),
				 errhint("Cycles resume when that session's transaction ends.")));
	else if (failed > 0)
		ereport(LOG,
				(errmsg("%s: collection cycle ran " INT64_FORMAT " jobs, " INT64_FORMAT " failed",
						WORKER_NAME, jobs, failed),
				 errhint("The errors are in cobranca.job_run.")));
	else
		ereport(DEBUG1,
				(errmsg("%s: collection cycle ran " INT64_FORMAT " jobs",
						WORKER_NAME, jobs)));

	/* a lock held for long is reported once, not every naptime */
	busy_reported = (cycle_error == NULL && outcome == CYCLE_BUSY);
	replica_reported = (cycle_error == NULL && outcome == CYCLE_REPLICA);

	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * cobranca.job_run_retention_days() -> integer: the days of job history kept.
 * Read through the module so that the setting is known (and validated)
 * even in a session that has not loaded the library yet.
 */
PG_FUNCTION_INFO_V1(cobranca_job_run_retention_days);
Datum
cobranca_job_run_retention_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(cobranca_job_run_retention);
}

void
cobranca_worker_main(Datum main_arg)
{
	char		database[NAMEDATALEN];
	MemoryContext loop_cxt;
	TimestampTz last_start = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	strlcpy(database, cobranca_database, sizeof(database));
	BackgroundWorkerInitializeConnection(database, NULL, 0);
	pgstat_report_appname(WORKER_NAME);

	ereport(LOG,
			(errmsg("%s started: collection cycle every %d s in database \"%s\"",
					WORKER_NAME, cobranca_naptime, database)));

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "cobranca worker loop",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now;
		long		sleep_ms;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (strcmp(database, cobranca_database) != 0)
			{
				ereport(LOG,
						(errmsg("%s: cobranca.database changed from \"%s\" to \"%s\"; restarting in %d s to connect to it",
								WORKER_NAME, database, cobranca_database,
								COBRANCA_WORKER_RESTART_SECS)));
				proc_exit(1);
			}
		}

		/*
		 * Cycles start naptime seconds apart; a wake-up for another reason
		 * (a reload, which may change naptime) only recomputes the sleep.
		 */
		now = GetCurrentTimestamp();
		if (last_start == 0 ||
			TimestampDifferenceExceeds(last_start, now, cobranca_naptime * 1000))
		{
			last_start = now;
			if (RecoveryInProgress())
				pgstat_report_activity(STATE_IDLE, NULL);
			else
				RunCycle(loop_cxt);
			now = GetCurrentTimestamp();
		}
		sleep_ms = TimestampDifferenceMilliseconds(now,
												   TimestampTzPlusMilliseconds(last_start,
																			   cobranca_naptime * 1000L));

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(sleep_ms, 1L),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
