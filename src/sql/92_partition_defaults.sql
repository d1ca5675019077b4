-- The default partitions of the time-partitioned tables (src/sql/92_partition.sql).


-- The default partitions (made with their tables): members of the
-- extension, their rows dumped.
SELECT cobranca.partition_prepare('cobranca.audit_log', 'cobranca.audit_log_default');
SELECT cobranca.partition_prepare('cobranca.job_run', 'cobranca.job_run_default');
SELECT cobranca.partition_prepare('cobranca.contact', 'cobranca.contact_default');
COMMENT ON TABLE cobranca.audit_log_default IS
  'rows of cobranca.audit_log whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.job_run_default IS
  'rows of cobranca.job_run whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.contact_default IS
  'rows of cobranca.contact whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_default', '');
