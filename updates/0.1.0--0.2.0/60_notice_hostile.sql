-- 0.2.0: notice messages show at most 60 characters of a value sent (cobranca.show_value).
CREATE OR REPLACE FUNCTION cobranca.notice_proof_valid(channel text, proof jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  missing text;
BEGIN
  IF channel IS NULL OR channel NOT IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent') THEN
    RAISE EXCEPTION 'invalid notice channel: "%"', coalesce(cobranca.show_value(channel), 'null')
      USING ERRCODE = '22023',
            DETAIL = 'default_notice.channel must be one of email, sms, whatsapp, phone, ivr, letter, agent (RN 593 art. 8).';
  END IF;
  IF proof IS NULL OR jsonb_typeof(proof) <> 'object' THEN
    missing := 'the keys of a JSON object';
  ELSIF channel = 'email' THEN
    IF NOT (cobranca.notice_jsonb_present(proof -> 'read_receipt')
            OR cobranca.notice_jsonb_present(proof -> 'certificate')) THEN
      missing := 'read_receipt or certificate';
    END IF;
  ELSIF channel IN ('sms', 'whatsapp') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'reply') THEN
      missing := 'reply (the beneficiary''s answer confirming awareness)';
    END IF;
  ELSIF channel IN ('phone', 'ivr') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'recording') THEN
      missing := 'recording';
    ELSIF (proof -> 'data_confirmed') IS DISTINCT FROM 'true'::jsonb THEN
      missing := 'data_confirmed = true (the beneficiary confirmed their data in the call)';
    END IF;
  ELSIF channel = 'letter' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'ar') THEN
      missing := 'ar (the signed postal receipt)';
    END IF;
  ELSIF channel = 'agent' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'signed_receipt') THEN
      missing := 'signed_receipt (signed by the beneficiary)';
    END IF;
  END IF;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'confirmation by % lacks its proof of receipt', channel
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.proof = %s has no %s.', coalesce(cobranca.show_value(proof::text), 'null'), missing),
            HINT = 'RN 593 art. 8: email needs read_receipt or certificate; sms/whatsapp a reply; phone/ivr a recording and data_confirmed = true; letter an ar; agent a signed_receipt.';
  END IF;
  RETURN true;
END
$$;
CREATE OR REPLACE FUNCTION cobranca.notice_attempts_last(payer_id bigint, attempts jsonb) RETURNS timestamptz
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  p    record;
  a    jsonb;
  ts   timestamptz;
  last_ts timestamptz;
  tried text[] := '{}';
  need record;
BEGIN
  IF attempts IS NULL OR jsonb_typeof(attempts) <> 'array' OR jsonb_array_length(attempts) = 0 THEN
    RAISE EXCEPTION 'unreachable notice needs its failed attempts'
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.attempts = %s is not a non-empty array.', coalesce(cobranca.show_value(attempts::text), 'null')),
            HINT = 'Pass [{"channel": "email", "at": "2026-03-02T10:00:00-03:00", "result": "bounced"}, ...], one failed attempt at least per registered channel.';
  END IF;
  FOR a IN SELECT e FROM jsonb_array_elements(attempts) e LOOP
    IF jsonb_typeof(a) <> 'object'
       OR NOT coalesce(a ->> 'channel' IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent'), false)
       OR NOT cobranca.notice_jsonb_present(a -> 'result')
       OR jsonb_typeof(a -> 'at') IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION 'malformed notice attempt'
        USING ERRCODE = '22023',
              DETAIL = format('attempt %s needs channel (email, sms, whatsapp, phone, ivr, letter, agent), at (timestamp) and result.', cobranca.show_value(a::text)),
              HINT = 'Example: {"channel": "letter", "at": "2026-03-02T10:00:00-03:00", "result": "AR returned: addressee unknown"}.';
    END IF;
    ts := (a ->> 'at')::timestamptz;
    IF ts > now() THEN
      RAISE EXCEPTION 'notice attempt in the future'
        USING ERRCODE = '22023', DETAIL = format('attempt %s is dated after now (%s).', cobranca.show_value(a::text), now());
    END IF;
    tried := tried || (a ->> 'channel');
    last_ts := greatest(last_ts, ts);
  END LOOP;

  SELECT * INTO p FROM cobranca.payer WHERE id = notice_attempts_last.payer_id;
  FOR need IN SELECT * FROM (VALUES
      ('email',    p.email IS NOT NULL,    '{email}'::text[]),
      ('phone',    p.phone IS NOT NULL,    '{phone,ivr,sms}'::text[]),
      ('whatsapp', p.whatsapp IS NOT NULL, '{whatsapp}'::text[]),
      ('letter',   p.address IS NOT NULL,  '{letter,agent}'::text[])) AS t(channel, registered, covers)
  LOOP
    IF need.registered AND NOT (tried && need.covers) THEN
      RAISE EXCEPTION 'registered channel % of payer % was not tried', need.channel, p.id
        USING ERRCODE = '23514',
              DETAIL = format('attempts cover %s; the payer has %s registered, which needs a failed attempt by one of %s.',
                              array_to_string(tried, ', '), need.channel, array_to_string(need.covers, ', ')),
              HINT = 'A notice may be closed as unreachable only when every registered channel failed (RN 593 art. 8).';
    END IF;
  END LOOP;
  RETURN last_ts;
END
$$;
