-- RN 593 art. 8: each channel's proof of receipt, the computed deadline
-- (month ends, leap years, the payer's time zone), the day-50 record, the
-- unreachable path, and a deadline nobody can type in.
BEGIN;
SELECT plan(47);
\ir notice_fixtures.psql

CREATE TEMP TABLE k (name text PRIMARY KEY, id bigint);
INSERT INTO k SELECT 'op', pg_temp.operator();

-- a contract with two unpaid premiums and its drafted notice; returns the notice
CREATE FUNCTION pg_temp.noticed(timezone text DEFAULT 'America/Sao_Paulo',
                                due1 date DEFAULT '2026-01-10', due2 date DEFAULT '2026-02-10',
                                as_of date DEFAULT '2026-02-20') RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  c bigint := pg_temp.contract((SELECT id FROM k WHERE name = 'op'), timezone => timezone);
BEGIN
  PERFORM pg_temp.premium(c, due1);
  PERFORM pg_temp.premium(c, due2);
  PERFORM cobranca.generate_notices(as_of);
  RETURN pg_temp.notice(c);
END
$$;

INSERT INTO k SELECT 'email', pg_temp.noticed();
INSERT INTO k SELECT 'cert', pg_temp.noticed();
INSERT INTO k SELECT 'sms', pg_temp.noticed();
INSERT INTO k SELECT 'whatsapp', pg_temp.noticed();
INSERT INTO k SELECT 'phone', pg_temp.noticed();
INSERT INTO k SELECT 'ivr', pg_temp.noticed();
INSERT INTO k SELECT 'letter', pg_temp.noticed();
INSERT INTO k SELECT 'agent', pg_temp.noticed();
INSERT INTO k SELECT 'other', pg_temp.noticed();

CREATE FUNCTION pg_temp.confirm(notice text, channel text, confirmed_at timestamptz, proof jsonb) RETURNS text
  LANGUAGE sql AS $$
  SELECT format('SELECT cobranca.confirm_notice(%s, %L, %L, %L)',
                (SELECT id FROM k WHERE name = notice), channel, confirmed_at, proof)
$$;

-- each channel without and with its proof; confirmed on 20 February: the
-- deadline crosses the end of February
SELECT throws_ok(pg_temp.confirm('email', 'email', '2026-02-20 15:00-03', '{}'), '23514', NULL,
                 'email without proof is refused');
SELECT throws_ok(pg_temp.confirm('email', 'email', '2026-02-20 15:00-03', '{"delivered": true}'), '23514',
                 'confirmation by email lacks its proof of receipt', 'email delivered but not read is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'email'), 'email', '2026-02-20 15:00-03',
                                  '{"read_receipt": "MDN 2026-02-20T15:00:00-03:00 message-id <a1@x>"}'),
          date '2026-03-02', 'email with a read receipt: deadline 20 Feb + 10 days = 2 March');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'cert'), 'email', '2026-02-20 15:00-03',
                                  '{"certificate": {"issuer": "AC Exemplo", "serial": "0042"}}'),
          date '2026-03-02', 'email with a digital certificate');
SELECT throws_ok(pg_temp.confirm('sms', 'sms', '2026-02-21 09:00-03', '{"delivered": true}'), '23514', NULL,
                 'sms delivered without the beneficiary''s reply is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'sms'), 'sms', '2026-02-21 09:00-03',
                                  '{"reply": "Ciente"}'), date '2026-03-03', 'sms with a reply');
SELECT throws_ok(pg_temp.confirm('whatsapp', 'whatsapp', '2026-02-21 09:00-03', '{"read": true}'), '23514', NULL,
                 'whatsapp read without a reply is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'whatsapp'), 'whatsapp', '2026-02-21 09:00-03',
                                  '{"reply": "Recebi, vou pagar"}'), date '2026-03-03', 'whatsapp with a reply');
SELECT throws_ok(pg_temp.confirm('phone', 'phone', '2026-02-21 09:00-03', '{"recording": "rec/123.wav"}'), '23514', NULL,
                 'phone recording without the data confirmed is refused');
SELECT throws_ok(pg_temp.confirm('phone', 'phone', '2026-02-21 09:00-03',
                                 '{"recording": "rec/123.wav", "data_confirmed": false}'), '23514', NULL,
                 'phone with data_confirmed false is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'phone'), 'phone', '2026-02-21 09:00-03',
                                  '{"recording": "rec/123.wav", "data_confirmed": true}'),
          date '2026-03-03', 'phone with a recording and the data confirmed');
SELECT throws_ok(pg_temp.confirm('ivr', 'ivr', '2026-02-21 09:00-03', '{"data_confirmed": true}'), '23514', NULL,
                 'ivr without a recording is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'ivr'), 'ivr', '2026-02-21 09:00-03',
                                  '{"recording": "ura/77.wav", "data_confirmed": true}'),
          date '2026-03-03', 'ivr with a recording and the data confirmed');
SELECT throws_ok(pg_temp.confirm('letter', 'letter', '2026-02-23 11:00-03', '{"tracking": "BR123"}'), '23514', NULL,
                 'letter without the AR is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'letter'), 'letter', '2026-02-23 11:00-03',
                                  '{"ar": "AR BR123456789BR signed by J. Souza"}'), date '2026-03-05',
          'letter with the AR (anyone may sign)');
SELECT throws_ok(pg_temp.confirm('agent', 'agent', '2026-02-23 11:00-03', '{"photo": "x.jpg"}'), '23514', NULL,
                 'agent delivery without the signed receipt is refused');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'agent'), 'agent', '2026-02-23 11:00-03',
                                  '{"signed_receipt": "doc/rec-9.pdf"}'), date '2026-03-05',
          'agent delivery with the beneficiary''s signed receipt');
SELECT throws_ok(pg_temp.confirm('other', 'pigeon', '2026-02-23 11:00-03', '{"reply": "ok"}'), '22023', NULL,
                 'an unknown channel is refused');
SELECT throws_ok(pg_temp.confirm('other', 'email', '2026-02-23 11:00-03', NULL), '23514', NULL,
                 'a null proof is refused');
SELECT is(pg_temp.notice_status((SELECT id FROM k WHERE name = 'other')), 'draft', 'refusals leave the notice a draft');

SELECT results_eq(
  $$SELECT status, channel, term_start_on, deadline_on, confirmed_by_day_50,
           proof ->> 'read_receipt' IS NOT NULL
      FROM cobranca.default_notice WHERE id = (SELECT id FROM k WHERE name = 'email')$$,
  $$VALUES ('confirmed'::text, 'email'::text, date '2026-02-20', date '2026-03-02', true, true)$$,
  'the confirmation and its evidence are stored');

-- nobody writes the deadline
SELECT throws_ok(format('UPDATE cobranca.default_notice SET deadline_on = %L WHERE id = %s',
                        '2026-12-31', (SELECT id FROM k WHERE name = 'email')),
                 '428C9', NULL, 'deadline_on cannot be written by hand');
SELECT throws_ok(format($$INSERT INTO cobranca.default_notice (creditor_id, portfolio_id, contract_id, invoice_ids,
                            amount_due, default_since, drafted_on, body, deadline_on)
                          SELECT creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since,
                                 drafted_on, body, date '2026-12-31'
                            FROM cobranca.default_notice WHERE id = %s$$, (SELECT id FROM k WHERE name = 'email')),
                 '428C9', NULL, 'nor given on insert');
SELECT throws_ok(format($$UPDATE cobranca.default_notice SET status = 'confirmed', channel = 'email',
                            confirmed_at = '2026-02-23 10:00-03', proof = '{}' WHERE id = %s$$,
                        (SELECT id FROM k WHERE name = 'other')),
                 '23514', NULL, 'a direct UPDATE to confirmed without proof is refused as well');
SELECT throws_ok(format('UPDATE cobranca.default_notice SET proof = %L WHERE id = %s', '{"certificate": "x"}',
                        (SELECT id FROM k WHERE name = 'email')),
                 '55000', NULL, 'the evidence of a confirmed notice cannot change');
SELECT throws_ok(pg_temp.confirm('email', 'email', '2026-02-24 15:00-03', '{"read_receipt": "again"}'),
                 '55000', NULL, 'a notice is confirmed once');
SELECT throws_ok(pg_temp.confirm('other', 'email', now() + interval '1 day', '{"read_receipt": "x"}'),
                 '22023', NULL, 'a confirmation in the future is refused');
SELECT throws_ok(pg_temp.confirm('other', 'email', '2026-02-19 10:00-03', '{"read_receipt": "x"}'),
                 '22023', NULL, 'a confirmation before the notice was drafted is refused');
SELECT throws_ok('SELECT cobranca.confirm_notice(-1, ''email'', now(), ''{"read_receipt": "x"}'')',
                 'P0002', NULL, 'an unknown notice');
SELECT throws_ok(format('UPDATE cobranca.default_notice SET status = %L WHERE id = %s', 'expired',
                        (SELECT id FROM k WHERE name = 'other')),
                 '55000', NULL, 'a draft cannot expire');
SELECT lives_ok(format('UPDATE cobranca.default_notice SET status = %L WHERE id = %s', 'sent',
                       (SELECT id FROM k WHERE name = 'other')), 'a draft may be marked sent');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'other'), 'email', '2026-03-25 08:00-03',
                                  '{"read_receipt": "x"}'),
          date '2026-04-04', 'a sent notice is confirmed; deadline across the end of March');

-- the day-50 record: the default began on 10 January, day 50 is 1 March
INSERT INTO k SELECT 'd50', pg_temp.noticed();
INSERT INTO k SELECT 'd51', pg_temp.noticed();
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'd50'), 'sms', '2026-03-01 20:00-03',
                                  '{"reply": "ok"}'), date '2026-03-11', 'confirmed on day 50');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'd51'), 'sms', '2026-03-02 08:00-03',
                                  '{"reply": "ok"}'), date '2026-03-12', 'confirmed on day 51: still valid');
SELECT results_eq(
  $$SELECT confirmed_by_day_50 FROM cobranca.default_notice
     WHERE id IN (SELECT id FROM k WHERE name IN ('email', 'd50', 'd51')) ORDER BY id$$,
  $$VALUES (true), (true), (false)$$, 'confirmed_by_day_50: days 41 and 50 yes, day 51 no');

-- year end
INSERT INTO k SELECT 'dec', pg_temp.noticed(due1 => '2025-10-10', due2 => '2025-11-10', as_of => '2025-12-15');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'dec'), 'letter', '2025-12-28 10:00-03',
                                  '{"ar": "AR1"}'), date '2026-01-07', 'deadline across the year end');

-- the payer's time zone: one instant, 03:30 UTC on 28 February
INSERT INTO k SELECT 'rb', pg_temp.noticed('America/Rio_Branco');
INSERT INTO k SELECT 'mao', pg_temp.noticed('America/Manaus');
INSERT INTO k SELECT 'sp', pg_temp.noticed('America/Sao_Paulo');
INSERT INTO k SELECT 'utc', pg_temp.noticed('UTC');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'rb'), 'sms', '2026-02-28 03:30+00', '{"reply": "ok"}'),
          date '2026-03-09', 'Rio Branco (UTC-5): 22:30 of 27 February, deadline 9 March');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'mao'), 'sms', '2026-02-28 03:30+00', '{"reply": "ok"}'),
          date '2026-03-09', 'Manaus (UTC-4): 23:30 of 27 February, deadline 9 March');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'sp'), 'sms', '2026-02-28 03:30+00', '{"reply": "ok"}'),
          date '2026-03-10', 'São Paulo (UTC-3): 00:30 of 28 February, deadline 10 March');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'utc'), 'sms', '2026-02-28 03:30+00', '{"reply": "ok"}'),
          date '2026-03-10', 'UTC: 28 February, deadline 10 March');

-- unreachable: every registered channel (email, phone, address) must have failed
INSERT INTO k SELECT 'unr', pg_temp.noticed();
CREATE FUNCTION pg_temp.unreachable(attempts jsonb) RETURNS text
  LANGUAGE sql AS $$
  SELECT format('SELECT cobranca.notice_unreachable(%s, %L)', (SELECT id FROM k WHERE name = 'unr'), attempts)
$$;
SELECT throws_ok(pg_temp.unreachable('[]'), '23514', NULL, 'unreachable without attempts is refused');
SELECT throws_ok(pg_temp.unreachable('[{"channel": "email", "at": "2026-02-21T10:00:00-03:00"}]'), '22023', NULL,
                 'an attempt without its result is refused');
SELECT throws_ok(pg_temp.unreachable('[{"channel": "email", "at": "2026-02-21T10:00:00-03:00", "result": "bounced"}]'),
                 '23514', NULL, 'email alone: the phone was not tried');
SELECT throws_ok(pg_temp.unreachable(
  '[{"channel": "email", "at": "2026-02-21T10:00:00-03:00", "result": "bounced"},
    {"channel": "phone", "at": "2026-02-22T10:00:00-03:00", "result": "number out of service"}]'),
  '23514', 'registered channel letter of payer ' || (SELECT payer_id FROM cobranca.contract c JOIN cobranca.default_notice n
                                                      ON n.contract_id = c.id WHERE n.id = (SELECT id FROM k WHERE name = 'unr'))
           || ' was not tried',
  'email and phone: the address was not tried');
SELECT is(cobranca.notice_unreachable((SELECT id FROM k WHERE name = 'unr'),
  '[{"channel": "email", "at": "2026-02-21T10:00:00-03:00", "result": "bounced"},
    {"channel": "sms", "at": "2026-02-22T10:00:00-03:00", "result": "undelivered"},
    {"channel": "letter", "at": "2026-02-27T23:30:00-03:00", "result": "AR returned: moved away"}]'),
  date '2026-03-09', 'every registered channel failed: 10 days from the last attempt (27 Feb, local)');
SELECT results_eq(
  $$SELECT status, term_start_on, jsonb_array_length(attempts), confirmed_by_day_50
      FROM cobranca.default_notice WHERE id = (SELECT id FROM k WHERE name = 'unr')$$,
  $$VALUES ('unreachable'::text, date '2026-02-27', 3, true)$$, 'closed as unreachable with its attempts');
SELECT throws_ok(pg_temp.confirm('unr', 'email', '2026-02-28 10:00-03', '{"read_receipt": "x"}'), '55000', NULL,
                 'an unreachable notice is not confirmed afterwards');

SELECT * FROM finish();
ROLLBACK;
