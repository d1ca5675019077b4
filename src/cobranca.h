/*-------------------------------------------------------------------------
 *
 * cobranca.h
 *	  Settings and small helpers shared by the cobranca modules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_H
#define COBRANCA_H

#include "postgres.h"

/* GUC variables, defined and registered in cobranca.c */
extern char *cobranca_database;
extern int	cobranca_naptime;
extern int	cobranca_max_contacts_per_day;
extern char *cobranca_master_key_file;
extern int	cobranca_job_run_retention;
extern int	cobranca_audit_retention_days;
extern int	cobranca_agreement_grace_days;
extern int	cobranca_kpi_refresh_interval;
extern int	cobranca_partition_months_ahead;

#endif							/* COBRANCA_H */
