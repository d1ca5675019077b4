-- What happens to a running notice: payment cures, an agreement voids, a
-- dispute moves the deadline, the job expires it, and a new default needs a
-- new notice.  The guard's conditions are evaluated with
-- cobranca.cancellation_check at fixed dates (the trigger, which uses
-- today, is in notice_guard.sql).
BEGIN;
SELECT plan(41);
\ir notice_fixtures.psql

CREATE TEMP TABLE k (name text PRIMARY KEY, contract bigint, notice bigint, inv bigint[]);
INSERT INTO k (name, contract) SELECT 'op', pg_temp.operator();

-- a contract with premiums due on the given dates, its notice drafted on
-- 20 February and confirmed by email at the given instant
CREATE FUNCTION pg_temp.scenario(name text, dues date[], confirmed_at timestamptz DEFAULT '2026-02-20 15:00-03')
  RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  c bigint := pg_temp.contract((SELECT contract FROM k WHERE k.name = 'op'));
  ids bigint[];
  d date;
BEGIN
  FOREACH d IN ARRAY dues LOOP
    ids := ids || pg_temp.premium(c, d);
  END LOOP;
  PERFORM cobranca.generate_notices('2026-02-20');
  IF confirmed_at IS NOT NULL THEN
    PERFORM cobranca.confirm_notice(pg_temp.notice(c), 'email', confirmed_at, '{"read_receipt": "ok"}');
  END IF;
  INSERT INTO k VALUES (name, c, pg_temp.notice(c), ids);
END
$$;
CREATE FUNCTION pg_temp.inv(name text, i integer) RETURNS bigint
  LANGUAGE sql AS $$ SELECT inv[i] FROM k WHERE k.name = inv.name $$;
CREATE FUNCTION pg_temp.st(name text) RETURNS text
  LANGUAGE sql AS $$ SELECT pg_temp.notice_status(notice) FROM k WHERE k.name = st.name $$;
CREATE FUNCTION pg_temp.deadline(name text) RETURNS date
  LANGUAGE sql AS $$ SELECT deadline_on FROM cobranca.default_notice WHERE id = (SELECT notice FROM k WHERE k.name = deadline.name) $$;
CREATE FUNCTION pg_temp.chk(name text, as_of date) RETURNS text
  LANGUAGE sql AS $$
  SELECT x.condition FROM cobranca.cancellation_check((SELECT contract FROM k WHERE k.name = chk.name), 'default', as_of) x
$$;
CREATE FUNCTION pg_temp.chk_message(name text, as_of date) RETURNS text
  LANGUAGE sql AS $$
  SELECT x.condition || ': ' || x.message
    FROM cobranca.cancellation_check((SELECT contract FROM k WHERE k.name = chk_message.name), 'default', as_of) x
$$;

-- the deadline and the 60 days: default since 10 January, confirmed on
-- 20 February, deadline 2 March (the last day to pay)
SELECT FROM pg_temp.scenario('plain', '{2026-01-10,2026-02-10}');
SELECT is(pg_temp.chk_message('plain', '2026-03-01'), 'deadline: deadline 2026-03-02 not reached',
          'one day before the deadline: refused');
SELECT is(pg_temp.chk('plain', '2026-03-02'), 'deadline', 'on the deadline (last day to pay): refused');
SELECT is(pg_temp.chk_message('plain', '2026-03-03'), 'default: 52 days of default, more than 60 required',
          'after the deadline but only 52 days of default: refused');
SELECT is(pg_temp.chk('plain', '2026-03-11'), 'default', 'day 60: refused');
SELECT is(pg_temp.chk('plain', '2026-03-12'), 'ok', 'day 61, deadline passed, debt unpaid: allowed');
SELECT results_eq(
  $$SELECT unpaid_premiums, default_since, days_in_default, amount_due
      FROM cobranca.cancellation_check((SELECT contract FROM k WHERE name = 'plain'), 'default', '2026-03-12')$$,
  $$VALUES (2, date '2026-01-10', 61, 900.00::numeric)$$, 'the facts that allow it');
SELECT is(pg_temp.chk('plain', '2027-02-01'), 'default', 'a year later the premiums left the 12-month window');

-- expiry, in the payer's time zone
SELECT is(cobranca.expire_notices('2026-03-03 02:00+00'), 0::bigint, '23:00 of 2 March in São Paulo: not expired');
SELECT is(cobranca.expire_notices('2026-03-03 03:30+00'), 1::bigint, '00:30 of 3 March in São Paulo: expired');
SELECT is(pg_temp.st('plain'), 'expired', 'the notice is expired');
SELECT ok((SELECT closed_at IS NOT NULL FROM cobranca.default_notice WHERE id = (SELECT notice FROM k WHERE name = 'plain')),
          'and closed_at recorded');
SELECT is(pg_temp.chk('plain', '2026-03-12'), 'ok', 'an expired notice still grounds the cancellation');
SELECT is(cobranca.generate_notices('2026-03-12'), 0, 'no new notice while the expired one is live');

-- payment cures
SELECT FROM pg_temp.scenario('paid', '{2026-01-10,2026-02-10}');
SELECT FROM pg_temp.pay(pg_temp.inv('paid', 1), '2026-02-25 10:00-03');
SELECT is(pg_temp.st('paid'), 'cured', 'one of two listed premiums paid: no longer a default, cured');
SELECT FROM pg_temp.scenario('three', '{2025-12-10,2026-01-10,2026-02-10}');
SELECT FROM pg_temp.pay(pg_temp.inv('three', 2), '2026-02-25 10:00-03');
SELECT is(pg_temp.st('three'), 'confirmed', 'one of three paid: two still unpaid, the notice runs');
SELECT FROM pg_temp.pay(pg_temp.inv('three', 1), '2026-02-26 10:00-03');
SELECT is(pg_temp.st('three'), 'cured', 'two of three paid: cured');
SELECT is(pg_temp.chk('three', '2026-06-01'), 'notice', 'a cured notice never grounds a cancellation');
SELECT FROM pg_temp.scenario('late', '{2026-01-10,2026-02-10}');
SELECT FROM cobranca.expire_notices('2026-03-04 12:00-03');
SELECT is(pg_temp.st('late'), 'expired', 'expired');
SELECT FROM pg_temp.pay(pg_temp.inv('late', 2), '2026-03-05 10:00-03');
SELECT is(pg_temp.st('late'), 'cured', 'paid after the deadline, before any cancellation: cured');
SELECT FROM pg_temp.scenario('draft', '{2026-01-10,2026-02-10}', NULL);
SELECT FROM pg_temp.pay(pg_temp.inv('draft', 1), '2026-02-21 10:00-03');
SELECT FROM pg_temp.pay(pg_temp.inv('draft', 2), '2026-02-21 10:00-03');
SELECT is(pg_temp.st('draft'), 'cured', 'a draft is cured by payment too');
SELECT FROM pg_temp.scenario('upheld', '{2026-01-10,2026-02-10}');
UPDATE cobranca.invoice SET status = 'cancelled' WHERE id = pg_temp.inv('upheld', 2);
SELECT is(pg_temp.st('upheld'), 'cured', 'a listed premium cancelled by the operator: cured');

-- a new default needs a new notice
SELECT FROM pg_temp.premium((SELECT contract FROM k WHERE name = 'paid'), '2026-04-10');
SELECT FROM pg_temp.premium((SELECT contract FROM k WHERE name = 'paid'), '2026-05-10');
SELECT is(cobranca.generate_notices('2026-05-20'), 1, 'a new default (two new premiums unpaid) gets a new notice');
SELECT results_eq(
  $$SELECT status, default_since, cardinality(invoice_ids) FROM cobranca.default_notice
     WHERE contract_id = (SELECT contract FROM k WHERE name = 'paid') ORDER BY id$$,
  $$VALUES ('cured'::text, date '2026-01-10', 2), ('draft', date '2026-02-10', 3)$$,
  'the old notice stays cured; the new one lists every unpaid premium, February''s included');
SELECT is(pg_temp.chk_message('paid', '2026-07-01'),
          'notice: no confirmed default notice for the current default of contract '
          || (SELECT contract FROM k WHERE name = 'paid'),
          'the old notice does not serve the new default; the new one is only a draft');
SELECT throws_ok(format('SELECT cobranca.confirm_notice(%s, %L, %L, %L)', (SELECT notice FROM k WHERE name = 'paid'),
                        'email', '2026-05-21 10:00-03', '{"read_receipt": "x"}'),
                 '55000', NULL, 'a cured notice cannot be confirmed');

-- an agreement voids
SELECT FROM pg_temp.scenario('deal', '{2026-01-10,2026-02-10}');
SELECT FROM pg_temp.agree(pg_temp.inv('deal', 1));
SELECT is(pg_temp.st('deal'), 'void', 'an agreement covering a listed premium voids the notice');
SELECT is(pg_temp.chk('deal', '2026-04-01'), 'notice', 'and cancellation for that debt is no longer possible');
SELECT is(cobranca.generate_notices('2026-03-01'), 0, 'the premium in agreement does not count: no new notice');

-- a dispute within the term moves the deadline to the answer + 10 days
SELECT FROM pg_temp.scenario('disp', '{2026-01-10,2026-02-10}');
SELECT is(pg_temp.deadline('disp'), date '2026-03-02', 'deadline 2 March');
CREATE TEMP TABLE dsp AS SELECT pg_temp.dispute(pg_temp.inv('disp', 2), '2026-02-25') AS id;
SELECT is(pg_temp.deadline('disp'), NULL::date, 'a dispute opened on 25 February: deadline open until answered');
SELECT is(pg_temp.chk_message('disp', '2026-03-20'),
          'deadline: deadline of notice ' || (SELECT notice FROM k WHERE name = 'disp')
          || ' is open: a dispute on a listed premium awaits its answer', 'no cancellation while it is unanswered');
SELECT is(cobranca.expire_notices('2026-03-20 12:00-03'), 0::bigint, 'nor expiry');
SELECT FROM pg_temp.answer((SELECT id FROM dsp), '2026-03-05');
SELECT is(pg_temp.deadline('disp'), date '2026-03-15', 'answered on 5 March: deadline 15 March');
SELECT is(pg_temp.chk('disp', '2026-03-15'), 'deadline', '15 March: refused');
SELECT is(pg_temp.chk('disp', '2026-03-16'), 'ok', '16 March: allowed');

-- a dispute opened after the deadline does not move it, but blocks while open
SELECT FROM pg_temp.scenario('after', '{2026-01-10,2026-02-10}');
TRUNCATE dsp;
INSERT INTO dsp SELECT pg_temp.dispute(pg_temp.inv('after', 1), '2026-03-04');
SELECT is(pg_temp.deadline('after'), date '2026-03-02', 'a dispute after the deadline leaves it');
SELECT is(pg_temp.chk_message('after', '2026-03-20'),
          'dispute: premium ' || pg_temp.inv('after', 1) || ' has an open dispute', 'but blocks cancellation while open');
SELECT FROM pg_temp.answer((SELECT id FROM dsp), '2026-03-06');
SELECT is(pg_temp.chk('after', '2026-03-20'), 'ok', 'answered (rejected): allowed again');

-- unreachable: the 10 days run from the last attempt
SELECT FROM pg_temp.scenario('unr', '{2026-01-10,2026-02-10}', NULL);
SELECT is(cobranca.notice_unreachable((SELECT notice FROM k WHERE name = 'unr'),
  '[{"channel": "email", "at": "2026-02-21T10:00:00-03:00", "result": "bounced"},
    {"channel": "phone", "at": "2026-02-22T10:00:00-03:00", "result": "no answer, 5 calls"},
    {"channel": "letter", "at": "2026-03-04T16:00:00-03:00", "result": "AR returned: unknown"}]'),
  date '2026-03-14', 'unreachable: last attempt 4 March, deadline 14 March');
SELECT is(pg_temp.chk('unr', '2026-03-14'), 'deadline', 'refused on 14 March');
SELECT is(pg_temp.chk('unr', '2026-03-15'), 'ok', 'allowed on 15 March');

SELECT * FROM finish();
ROLLBACK;
