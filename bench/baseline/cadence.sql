-- Baseline of figure 3 (bench/run): the calendar written in PL/pgSQL,
-- reading the same tables (cobranca.holiday, cobranca.contact_window,
-- cobranca.creditor) on every call, and the contact rules as one plain SQL
-- statement: the very statement compiled into src/cadence.c, taken from it by
-- bench/baseline/cadence_sql.sh, with the calendar calls renamed to these.
-- bench/run stores that statement in the database setting bench.generate_sql.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;
RESET client_min_messages;

CREATE FUNCTION bench.easter(y integer) RETURNS date
  LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  a int := y % 19; b int := y / 100; c int := y % 100; d int; e int; f int; g int;
  h int; i int; k int; l int; m int;
BEGIN
  d := b / 4; e := b % 4; f := (b + 8) / 25; g := (b - f + 1) / 3;
  h := (19 * a + b - d - g + 15) % 30; i := c / 4; k := c % 4;
  l := (32 + 2 * e + 2 * i - h - k) % 7; m := (a + 11 * h + 22 * l) / 451;
  RETURN make_date(y, (h + l - 7 * m + 114) / 31, ((h + l - 7 * m + 114) % 31) + 1);
END $$;

CREATE FUNCTION bench.is_holiday(d date, p_uf text, carnival boolean) RETURNS boolean
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  off int := d - bench.easter(extract(year FROM d)::int);
  md text := to_char(d, 'MM-DD');
BEGIN
  IF md IN ('01-01','04-21','05-01','09-07','10-12','11-02','11-15','12-25')
     OR (md = '11-20' AND extract(year FROM d) >= 2024) THEN
    RETURN true;
  END IF;
  IF off IN (-2, 60) OR (carnival AND off IN (-48, -47)) THEN
    RETURN true;
  END IF;
  RETURN EXISTS (SELECT 1 FROM cobranca.holiday h
                  WHERE h.uf = p_uf
                    AND ((h.month = extract(month FROM d) AND h.day = extract(day FROM d))
                         OR h.easter_offset = off));
END $$;

CREATE FUNCTION bench.day_window(d date, p_channel text, p_uf text, p_creditor bigint,
                                 OUT w_from time, OUT w_until time)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  sat boolean := extract(isodow FROM d) = 6;
  law cobranca.contact_window;
  own cobranca.contact_window;
  carnival boolean;
BEGIN
  IF extract(isodow FROM d) = 7 THEN
    RETURN;
  END IF;
  SELECT c.carnival_holiday INTO carnival FROM cobranca.creditor c WHERE c.id = p_creditor;
  IF bench.is_holiday(d, p_uf, coalesce(carnival, false)) THEN
    RETURN;
  END IF;
  SELECT * INTO law FROM cobranca.contact_window w
   WHERE w.creditor_id IS NULL AND (w.uf IS NULL OR w.uf = p_uf)
     AND (w.channel IS NULL OR w.channel = p_channel)
   ORDER BY (w.uf IS NOT NULL) DESC, (w.channel IS NOT NULL) DESC LIMIT 1;
  IF sat THEN
    w_from := law.saturday_from; w_until := law.saturday_until;
  ELSE
    w_from := law.weekday_from; w_until := law.weekday_until;
  END IF;
  SELECT * INTO own FROM cobranca.contact_window w
   WHERE w.creditor_id = p_creditor AND (w.uf IS NULL OR w.uf = p_uf)
     AND (w.channel IS NULL OR w.channel = p_channel)
   ORDER BY (w.uf IS NOT NULL) DESC, (w.channel IS NOT NULL) DESC LIMIT 1;
  IF own.id IS NOT NULL THEN
    IF sat THEN
      w_from := greatest(w_from, own.saturday_from); w_until := least(w_until, own.saturday_until);
      IF own.saturday_from IS NULL THEN w_from := NULL; END IF;
    ELSE
      w_from := greatest(w_from, own.weekday_from); w_until := least(w_until, own.weekday_until);
    END IF;
  END IF;
  IF w_from IS NULL OR w_until IS NULL OR w_from >= w_until THEN
    w_from := NULL; w_until := NULL;
  END IF;
END $$;

CREATE FUNCTION bench.cadence_day(due date, off integer, p_channel text, p_uf text, p_creditor bigint)
  RETURNS date LANGUAGE plpgsql STABLE AS $$
DECLARE
  d date := due + off;
  w record;
BEGIN
  IF off >= 0 THEN
    RETURN d;
  END IF;
  FOR i IN 1..30 LOOP
    SELECT * INTO w FROM bench.day_window(d, p_channel, p_uf, p_creditor);
    EXIT WHEN w.w_from IS NOT NULL;
    d := d - 1;
  END LOOP;
  RETURN d;
END $$;

CREATE FUNCTION bench.next_contact_slot(ts timestamptz, p_channel text, tz text, p_uf text, p_creditor bigint)
  RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  lt timestamp := ts AT TIME ZONE tz;
  w record;
BEGIN
  FOR i IN 0..369 LOOP
    SELECT * INTO w FROM bench.day_window(lt::date + i, p_channel, p_uf, p_creditor);
    CONTINUE WHEN w.w_from IS NULL;
    CONTINUE WHEN i = 0 AND lt::time >= w.w_until;
    IF i = 0 AND lt::time >= w.w_from THEN
      RETURN ts;
    END IF;
    RETURN greatest(((lt::date + i) + w.w_from) AT TIME ZONE tz, ts);
  END LOOP;
  RAISE EXCEPTION 'no lawful slot';
END $$;

-- the generation statement, with the PL/pgSQL calendar ($1 as_of, $2 the
-- per-payer daily cap, as cobranca.generate_contacts passes them)
CREATE FUNCTION bench.generate_contacts(as_of timestamptz) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  EXECUTE current_setting('bench.generate_sql')
    -- the setting exists once the extension's library is loaded (default 1)
    USING as_of, coalesce(nullif(current_setting('cobranca.max_contacts_per_day', true), ''), '1')::integer;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
