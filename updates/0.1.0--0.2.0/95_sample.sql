-- 95_sample: the sample generator's two helpers, made cheap (they run
-- several times for every generated row).  sample_random loses its SET
-- clause so that the planner inlines it; sample_cpf computes the check
-- digits in PL/pgSQL instead of two subqueries.  Same results for every input.

-- No SET clause: the planner inlines it into the generator's statements
-- (it is called several times for every row), so its operators are
-- schema-qualified instead.
CREATE OR REPLACE FUNCTION cobranca.sample_random(seed integer, n bigint, salt integer)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (pg_catalog.hashint8extended(n, seed::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) salt)
          OPERATOR(pg_catalog.&) 2147483647)::float8
         OPERATOR(pg_catalog./) 2147483648.0::float8
$$;
COMMENT ON FUNCTION cobranca.sample_random(integer, bigint, integer) IS
  'deterministic pseudo-random number in [0,1) from (seed, n, salt), for the sample generator';

CREATE OR REPLACE FUNCTION cobranca.sample_cpf(n bigint) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- 48271 is prime to 999999999, so distinct n below it give distinct bases
  base text := lpad(((n * 48271 + 7) % 999999999)::text, 9, '0');
  s1   integer := 0;
  s2   integer := 0;
  d    integer;
  c1   integer;
BEGIN
  FOR i IN 1 .. 9 LOOP
    d := substr(base, i, 1)::integer;
    s1 := s1 + d * (11 - i);
    s2 := s2 + d * (12 - i);
  END LOOP;
  c1 := CASE WHEN s1 % 11 < 2 THEN 0 ELSE 11 - s1 % 11 END;
  s2 := (s2 + c1 * 2) % 11;
  RETURN base || c1 || CASE WHEN s2 < 2 THEN 0 ELSE 11 - s2 END;
END
$$;
COMMENT ON FUNCTION cobranca.sample_cpf(bigint) IS
  'a valid CPF (check digits computed) derived from n, for the sample generator';
