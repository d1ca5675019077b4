/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background worker that runs the collection cycle.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_WORKER_H
#define COBRANCA_WORKER_H

#include "postgres.h"

/*
 * The advisory lock that keeps two collection cycles of one database apart.
 * cobranca.run_jobs() (src/sql/90_jobs.sql) takes the same two-key lock,
 * pg_advisory_xact_lock(1668244082, 1); 1668244082 is 'cobr' in ASCII.
 */
#define COBRANCA_CYCLE_LOCK_KEY1	1668244082
#define COBRANCA_CYCLE_LOCK_KEY2	1

/* seconds the postmaster waits before starting a worker that exited */
#define COBRANCA_WORKER_RESTART_SECS	10

extern void CobrancaRegisterWorker(void);

extern PGDLLEXPORT void cobranca_worker_main(Datum main_arg);

#endif							/* COBRANCA_WORKER_H */
