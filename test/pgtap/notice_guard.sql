-- The trigger on cobranca.contract: suspension or cancellation for default
-- only when every RN 593 condition holds today; never during the holder's
-- hospitalization.  The trigger reads today's date, so these histories are
-- built relative to current_date (payers in UTC, and the session too).
BEGIN;
SELECT plan(22);
SET LOCAL TimeZone = 'UTC';
\ir notice_fixtures.psql

CREATE TEMP TABLE k (name text PRIMARY KEY, contract bigint, inv bigint[]);
INSERT INTO k (name, contract) SELECT 'op', pg_temp.operator();

-- a contract with premiums due the given numbers of days ago; its notice,
-- when confirmed_ago is given, drafted and confirmed by SMS that many days ago
CREATE FUNCTION pg_temp.history(name text, dues_ago integer[], confirmed_ago integer DEFAULT NULL,
                                plan_type text DEFAULT 'individual', draft boolean DEFAULT true)
  RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  c bigint := pg_temp.contract((SELECT contract FROM k WHERE k.name = 'op'), plan_type, timezone => 'UTC');
  ids bigint[];
  d integer;
BEGIN
  FOREACH d IN ARRAY dues_ago LOOP
    ids := ids || pg_temp.premium(c, current_date - d);
  END LOOP;
  IF draft THEN
    PERFORM cobranca.generate_notices(current_date - coalesce(confirmed_ago, 0));
  END IF;
  IF confirmed_ago IS NOT NULL THEN
    PERFORM cobranca.confirm_notice(pg_temp.notice(c), 'sms',
                                    (current_date - confirmed_ago) + time '12:00', '{"reply": "ciente"}');
  END IF;
  INSERT INTO k VALUES (name, c, ids);
  RETURN c;
END
$$;
CREATE FUNCTION pg_temp.c(name text) RETURNS bigint
  LANGUAGE sql AS $$ SELECT contract FROM k WHERE k.name = c.name $$;
-- runs a statement; returns 'ok' or the error's SQLSTATE, message and detail
CREATE FUNCTION pg_temp.try(sql text) RETURNS text
  LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text;
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN st || ': ' || msg || ' / ' || det;
END
$$;
CREATE FUNCTION pg_temp.set_status(name text, status text, reason text) RETURNS text
  LANGUAGE sql AS $$
  SELECT format('UPDATE cobranca.contract SET status = %L, status_reason = %L WHERE id = %s',
                status, reason, pg_temp.c(name))
$$;

SELECT FROM pg_temp.history('before', '{100,70}', 9);    -- deadline tomorrow
SELECT FROM pg_temp.history('on', '{100,70}', 10);       -- deadline today
SELECT FROM pg_temp.history('after', '{100,70}', 11);    -- deadline yesterday
SELECT FROM pg_temp.history('susp', '{100,70}', 11);
SELECT FROM pg_temp.history('hosp', '{100,70}', 11);
SELECT FROM pg_temp.history('young', '{58,28}', 21);     -- 58 days of default
SELECT FROM pg_temp.history('disp', '{100,70}', 11);
SELECT FROM pg_temp.history('deal', '{100,70}', 11);
SELECT FROM pg_temp.history('paid', '{100,70}', 11);
SELECT FROM pg_temp.history('draft', '{100,70}');        -- drafted today, not confirmed
SELECT FROM pg_temp.history('company', '{100,70}', plan_type => 'collective_business', draft => false);
SELECT FROM pg_temp.history('none', '{100,70}', draft => false);
INSERT INTO cobranca.hospitalization (creditor_id, contract_id, admitted_on)
SELECT creditor_id, id, current_date - 3 FROM cobranca.contract WHERE id = pg_temp.c('hosp');

SELECT set_eq($$SELECT k.name FROM cobranca.cancellation_eligible e JOIN k ON k.contract = e.contract_id$$,
              ARRAY['after', 'susp', 'disp', 'deal', 'paid'],
              'cancellation_eligible: deadline passed, debt unpaid, no hospitalization');

SELECT throws_ok(pg_temp.set_status('before', 'cancelled', 'default'), 'P0593',
                 format('contract %s cannot be cancelled (reason default): deadline %s not reached',
                        pg_temp.c('before'), current_date + 1),
                 'one day before the deadline: refused, naming the deadline');
SELECT throws_ok(pg_temp.set_status('on', 'cancelled', 'default'), 'P0593',
                 format('contract %s cannot be cancelled (reason default): deadline %s not reached',
                        pg_temp.c('on'), current_date),
                 'on the deadline: refused');
SELECT throws_ok(pg_temp.set_status('on', 'suspended', 'default'), 'P0593', NULL, 'suspension likewise');
SELECT lives_ok(pg_temp.set_status('after', 'cancelled', 'default'), 'the day after the deadline: cancelled');
SELECT is((SELECT status FROM cobranca.contract WHERE id = pg_temp.c('after')), 'cancelled', 'the contract is cancelled');
SELECT lives_ok(pg_temp.set_status('susp', 'suspended', 'default'), 'suspension allowed');
SELECT lives_ok(pg_temp.set_status('susp', 'cancelled', 'default'), 'then cancellation of the suspended contract');

SELECT is(pg_temp.try(pg_temp.set_status('hosp', 'cancelled', 'default')),
          format('P0593: contract %s cannot be cancelled (reason default): the holder of contract %s is in hospital / '
                 'condition hospitalization failed: an open hospitalization forbids suspension or cancellation for any reason (Lei 9.656/98 art. 13 par. único III).',
                 pg_temp.c('hosp'), pg_temp.c('hosp')),
          'hospitalized holder: default cancellation refused');
SELECT throws_ok(pg_temp.set_status('hosp', 'cancelled', 'request'), 'P0593', NULL,
                 'hospitalized holder: cancellation on request refused too');
SELECT throws_ok(pg_temp.set_status('hosp', 'suspended', 'fraud'), 'P0593', NULL,
                 'hospitalized holder: suspension for fraud refused too');
SELECT lives_ok(format('UPDATE cobranca.contract SET plan_name = %L WHERE id = %s', 'Plano Essencial II', pg_temp.c('hosp')),
                'other changes to the contract are untouched');
UPDATE cobranca.hospitalization SET discharged_on = current_date WHERE contract_id = pg_temp.c('hosp');
SELECT lives_ok(pg_temp.set_status('hosp', 'cancelled', 'default'), 'after the discharge: allowed');

SELECT is(pg_temp.try(pg_temp.set_status('none', 'cancelled', 'default')),
          format('P0593: contract %s cannot be cancelled (reason default): no confirmed default notice for the current default of contract %s / '
                 'condition notice failed: no live notice: an earlier one was cured or voided, or none was drafted; a new default needs a new notice.',
                 pg_temp.c('none'), pg_temp.c('none')),
          'no notice: refused');
SELECT is(pg_temp.try(pg_temp.set_status('draft', 'suspended', 'default')),
          format('P0593: contract %s cannot be suspended (reason default): no confirmed default notice for the current default of contract %s / '
                 'condition notice failed: notice %s is draft, not confirmed nor closed as unreachable.',
                 pg_temp.c('draft'), pg_temp.c('draft'), pg_temp.notice(pg_temp.c('draft'))),
          'a draft notice is not enough');
SELECT lives_ok(pg_temp.set_status('none', 'cancelled', 'fraud'), 'cancellation for fraud is not put through RN 593');
SELECT lives_ok(pg_temp.set_status('company', 'cancelled', 'default'),
                'company-paid collective: default cancellation is not put through RN 593');

SELECT is(pg_temp.try(pg_temp.set_status('young', 'cancelled', 'default')),
          format('P0593: contract %s cannot be cancelled (reason default): 58 days of default, more than 60 required / '
                 'condition default failed: oldest unpaid listed premium due on %s; today is %s.',
                 pg_temp.c('young'), current_date - 58, current_date),
          'deadline passed but 58 days of default: refused');

SELECT FROM pg_temp.dispute((SELECT inv[2] FROM k WHERE name = 'disp'), current_date);
SELECT throws_ok(pg_temp.set_status('disp', 'cancelled', 'default'), 'P0593',
                 format('contract %s cannot be cancelled (reason default): premium %s has an open dispute',
                        pg_temp.c('disp'), (SELECT inv[2] FROM k WHERE name = 'disp')),
                 'an open dispute on a listed premium: refused');

SELECT FROM pg_temp.agree((SELECT inv[1] FROM k WHERE name = 'deal'));
SELECT throws_ok(pg_temp.set_status('deal', 'cancelled', 'default'), 'P0593', NULL,
                 'an agreement on the debt: refused (its notice is void)');

SELECT FROM pg_temp.pay((SELECT inv[1] FROM k WHERE name = 'paid'), now());
SELECT throws_ok(pg_temp.set_status('paid', 'cancelled', 'default'), 'P0593', NULL,
                 'a listed premium paid: refused (its notice is cured)');

SELECT is_empty($$SELECT 1 FROM cobranca.cancellation_eligible$$,
                'nothing left to cancel: the view follows the facts');

SELECT * FROM finish();
ROLLBACK;
