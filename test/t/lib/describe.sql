-- One line per property of every object that belongs to the cobranca
-- extension, in a stable order: two databases print the same lines exactly
-- when their extension objects are defined alike.  test/t/upgrade.sh diffs
-- a database upgraded from the previous release against a fresh install.
--
-- Column order is not compared (ALTER TABLE ADD COLUMN appends, a fresh
-- install may place a column elsewhere); partitions are described by their
-- parent's partition key, not one by one (an upgraded table may keep its old
-- rows in a partition of its own).  Rows of shipped configuration tables are
-- compared too, as JSON without their time stamps.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off

CREATE TEMP TABLE describe_line (line text);

WITH ext AS (
	SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'cobranca'
), member AS (
	SELECT d.classid, d.objid
	  FROM pg_catalog.pg_depend d, ext
	 WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
	   AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
	SELECT c.*
	  FROM pg_catalog.pg_class c
	 WHERE c.oid IN (SELECT objid FROM member WHERE classid = 'pg_catalog.pg_class'::regclass)
	   AND NOT c.relispartition
), acl AS (
	-- an ACL as sorted "grantee:privilege" items, independent of item order
	SELECT c.oid,
	       coalesce(string_agg(coalesce(r.rolname, 'PUBLIC') || ':' || a.privilege_type
	                            || CASE WHEN a.is_grantable THEN '*' ELSE '' END,
	                            ',' ORDER BY coalesce(r.rolname, 'PUBLIC'), a.privilege_type), '') AS items
	  FROM rel c
	  LEFT JOIN LATERAL pg_catalog.aclexplode(c.relacl) a ON true
	  LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
	 GROUP BY c.oid
)
INSERT INTO describe_line
SELECT format('relation %s kind=%s persistence=%s rls=%s force_rls=%s options=%s partkey=%s acl=[%s] comment=%L',
              c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
              c.reloptions, pg_catalog.pg_get_partkeydef(c.oid), acl.items,
              pg_catalog.obj_description(c.oid, 'pg_class'))
  FROM rel c JOIN acl USING (oid)
UNION ALL
SELECT format('column %s.%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s comment=%L acl=%s',
              c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
              CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END,
              pg_catalog.col_description(c.oid, a.attnum), a.attacl)
  FROM rel c
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
SELECT format('constraint %s.%s %s deferrable=%s deferred=%s comment=%L',
              c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid), k.condeferrable,
              k.condeferred, pg_catalog.obj_description(k.oid, 'pg_constraint'))
  FROM rel c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
 WHERE k.conparentid = 0
UNION ALL
SELECT format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
  FROM rel c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
UNION ALL
SELECT format('trigger %s enabled=%s comment=%L', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled,
              pg_catalog.obj_description(t.oid, 'pg_trigger'))
  FROM rel c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid
 WHERE NOT t.tgisinternal AND t.tgparentid = 0
UNION ALL
SELECT format('policy %s.%s cmd=%s permissive=%s roles=%s using=%s check=%s comment=%L',
              c.relname, p.polname, p.polcmd, p.polpermissive,
              (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END, ',' ORDER BY 1)
                 FROM unnest(p.polroles) r),
              pg_catalog.pg_get_expr(p.polqual, p.polrelid),
              pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
              pg_catalog.obj_description(p.oid, 'pg_policy'))
  FROM rel c JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT format('view %s %s', c.relname, pg_catalog.pg_get_viewdef(c.oid))
  FROM rel c WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT format('sequence %s type=%s start=%s inc=%s min=%s max=%s cycle=%s',
              c.relname, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle)
  FROM rel c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
UNION ALL
SELECT format('function %s acl=%s comment=%L', pg_catalog.pg_get_functiondef(p.oid), p.proacl,
              pg_catalog.obj_description(p.oid, 'pg_proc'))
  FROM pg_catalog.pg_proc p
 WHERE p.oid IN (SELECT objid FROM member WHERE classid = 'pg_catalog.pg_proc'::regclass)
   AND p.prokind IN ('f', 'p', 'w')
UNION ALL
SELECT format('aggregate %s sfunc=%s stype=%s final=%s combine=%s init=%s parallel=%s comment=%L',
              p.oid::regprocedure, a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn,
              a.agginitval, p.proparallel, pg_catalog.obj_description(p.oid, 'pg_proc'))
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
 WHERE p.oid IN (SELECT objid FROM member WHERE classid = 'pg_catalog.pg_proc'::regclass)
UNION ALL
SELECT format('type %s kind=%s labels=%s attrs=%s comment=%L',
              t.oid::regtype, t.typtype,
              (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                 FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid),
              (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0),
              pg_catalog.obj_description(t.oid, 'pg_type'))
  FROM pg_catalog.pg_type t
 WHERE t.oid IN (SELECT objid FROM member WHERE classid = 'pg_catalog.pg_type'::regclass)
UNION ALL
-- anything else the extension owns (casts, operators, event triggers, ...)
SELECT format('object %s', pg_catalog.pg_describe_object(m.classid, m.objid, 0))
  FROM member m
 WHERE m.classid NOT IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_proc'::regclass,
                         'pg_catalog.pg_type'::regclass)
UNION ALL
SELECT format('schema %s owner-acl=%s comment=%L', n.nspname, n.nspacl,
              pg_catalog.obj_description(n.oid, 'pg_namespace'))
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'cobranca'
UNION ALL
SELECT format('config-dump %s where %L', x.tbl::regclass, x.cond)
  FROM pg_catalog.pg_extension e,
       unnest(e.extconfig, e.extcondition) AS x(tbl, cond)
 WHERE e.extname = 'cobranca';

-- Shipped rows: the rows a bare install puts in its tables (the script is
-- meant for databases without domain data).  Time stamps, random keys and
-- hashes are left out.
DO $$
DECLARE
	r record;
	skip text[];
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS tbl, c.relname
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
		  JOIN pg_catalog.pg_extension e ON d.refobjid = e.oid AND d.deptype = 'e'
		 WHERE e.extname = 'cobranca' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		   AND c.relname NOT IN ('key_ring', 'audit_log', 'audit_seal', 'audit_seal_state', 'job_run')
	LOOP
		SELECT coalesce(array_agg(a.attname), '{}') INTO skip
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid = r.tbl AND a.attnum > 0 AND NOT a.attisdropped
		   AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'bytea'::regtype);
		EXECUTE format('INSERT INTO describe_line
		                SELECT %L || (pg_catalog.to_jsonb(t) - %L::text[])::text FROM %s t',
		               'row ' || r.relname || ' ', skip, r.tbl);
	END LOOP;
END
$$;

SELECT line FROM describe_line ORDER BY line COLLATE "C";
