-- Sample portfolio generator, for demos, tests and benchmarks.
--
-- Deterministic: every choice is a hash of (seed, row number, salt), not
-- random(), so the same call gives the same portfolio whatever the plan.

-- No SET clause: the planner inlines it into the generator's statements
-- (it is called several times for every row), so its operators are
-- schema-qualified instead.
CREATE FUNCTION cobranca.sample_random(seed integer, n bigint, salt integer)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (pg_catalog.hashint8extended(n, seed::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) salt)
          OPERATOR(pg_catalog.&) 2147483647)::float8
         OPERATOR(pg_catalog./) 2147483648.0::float8
$$;
COMMENT ON FUNCTION cobranca.sample_random(integer, bigint, integer) IS
  'deterministic pseudo-random number in [0,1) from (seed, n, salt), for the sample generator';

CREATE FUNCTION cobranca.sample_cpf(n bigint) RETURNS text
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

CREATE FUNCTION cobranca.generate_sample(seed integer DEFAULT 42,
                                         payers integer DEFAULT 2000,
                                         months integer DEFAULT 14,
                                         as_of date DEFAULT CURRENT_DATE)
  RETURNS TABLE (entity text, rows bigint)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  op_id    bigint;
  cl_id    bigint;
  pf_pf    bigint;
  pf_col   bigint;
  pf_cli   bigint;
  first_m  date := (date_trunc('month', as_of) - make_interval(months => months - 1))::date;
  n        bigint;
BEGIN
  IF payers < 1 OR months < 1 OR months > 120 THEN
    RAISE EXCEPTION 'generate_sample: payers must be positive and months between 1 and 120'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('payers is %s, months is %s.', payers, months);
  END IF;

  INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, pix_key,
                                 fine_pct, interest_month_pct, service_phone, service_email, service_site)
  VALUES ('Vida Plena Saúde S.A.', '11222333000181', 'health_plan', '412345',
          'Av. Paulista, 1000, Bela Vista', 'São Paulo', 'SP', 'cobranca@vidaplena.com.br',
          2.00, 1.00, '08007771234', 'atendimento@vidaplena.com.br', 'www.vidaplena.com.br')
  ON CONFLICT (document) DO UPDATE SET name = EXCLUDED.name
  RETURNING id INTO op_id;
  INSERT INTO cobranca.creditor (name, document, kind, address, city, uf, pix_key,
                                 fine_pct, interest_month_pct, service_phone, service_email)
  VALUES ('Clínica Bem Estar Ltda.', '60574652000161', 'clinic',
          'Rua Voluntários da Pátria, 250, Botafogo', 'Rio de Janeiro', 'RJ', '60574652000161',
          2.00, 1.00, '2130001234', 'financeiro@bemestar.com.br')
  ON CONFLICT (document) DO UPDATE SET name = EXCLUDED.name
  RETURNING id INTO cl_id;

  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (op_id, 'Pessoa física')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_pf;
  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (op_id, 'Coletivos')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_col;
  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (cl_id, 'Particulares')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_cli;
  entity := 'creditor'; rows := 2; RETURN NEXT;
  entity := 'portfolio'; rows := 3; RETURN NEXT;

  SET LOCAL client_min_messages = warning;
  DROP TABLE IF EXISTS pg_temp.sample_payer, pg_temp.sample_invoice;
  RESET client_min_messages;

  -- payers: 85% beneficiaries of the operator, 15% patients of the clinic
  CREATE TEMP TABLE sample_payer ON COMMIT DROP AS
  SELECT i,
         cobranca.sample_random(seed, i, 1) AS r_creditor,
         cobranca.sample_random(seed, i, 2) AS r_plan,
         cobranca.sample_random(seed, i, 3) AS r_profile,
         cobranca.sample_random(seed, i, 4) AS r_uf,
         cobranca.sample_random(seed, i, 5) AS r_contact,
         cobranca.sample_random(seed, i, 6) AS r_amount
    FROM generate_series(1, payers) AS i;

  INSERT INTO cobranca.payer (portfolio_id, external_id, kind, document, name, email, phone,
                              whatsapp, uf, timezone, opt_out)
  SELECT CASE WHEN s.r_creditor >= 0.85 THEN pf_cli
              WHEN s.r_plan >= 0.65 THEN pf_col ELSE pf_pf END,
         'P' || lpad(s.i::text, 8, '0'),
         'person',
         cobranca.sample_cpf(s.i + seed::bigint * 1000000),
         (ARRAY['Ana','Bruno','Carla','Daniel','Eduarda','Felipe','Gabriela','Henrique','Isabela',
                'João','Larissa','Marcos','Natália','Otávio','Patrícia','Rafael','Sofia','Thiago',
                'Vanessa','Wagner'])[1 + (s.i * 7 % 20)::int] || ' ' ||
         (ARRAY['Silva','Santos','Oliveira','Souza','Rodrigues','Ferreira','Alves','Pereira',
                'Lima','Gomes','Costa','Ribeiro','Martins','Carvalho','Almeida','Lopes','Soares',
                'Fernandes','Vieira','Barbosa'])[1 + (s.i * 13 % 20)::int],
         CASE WHEN s.r_contact < 0.80 THEN 'pagador' || s.i || '@exemplo.com.br' END,
         CASE WHEN s.r_contact < 0.90 THEN '55119' || lpad((s.i % 100000000)::text, 8, '0') END,
         CASE WHEN s.r_contact > 0.15 THEN '55119' || lpad((s.i % 100000000)::text, 8, '0') END,
         u.uf, u.tz,
         CASE WHEN s.r_contact > 0.95 THEN ARRAY['sms'] ELSE '{}' END
    FROM sample_payer s
    CROSS JOIN LATERAL (
      SELECT CASE WHEN s.r_uf < 0.45 THEN 'SP' WHEN s.r_uf < 0.60 THEN 'RJ'
                  WHEN s.r_uf < 0.70 THEN 'MG' WHEN s.r_uf < 0.75 THEN 'ES'
                  WHEN s.r_uf < 0.80 THEN 'BA' WHEN s.r_uf < 0.84 THEN 'PE'
                  WHEN s.r_uf < 0.88 THEN 'RS' WHEN s.r_uf < 0.91 THEN 'PR'
                  WHEN s.r_uf < 0.94 THEN 'AL' WHEN s.r_uf < 0.97 THEN 'AM'
                  WHEN s.r_uf < 0.99 THEN 'MT' ELSE 'AC' END AS uf) u0
    CROSS JOIN LATERAL (
      SELECT u0.uf,
             CASE u0.uf WHEN 'AM' THEN 'America/Manaus' WHEN 'MT' THEN 'America/Cuiaba'
                        WHEN 'AC' THEN 'America/Rio_Branco' ELSE 'America/Sao_Paulo' END AS tz) u
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'payer'; rows := n; RETURN NEXT;

  -- one contract per beneficiary of the operator
  INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_ans_registry,
                                 plan_type, paid_by_person, starts_on)
  SELECT p.id, 'C' || substr(p.external_id, 2), 'VP-' || substr(p.external_id, 2),
         CASE WHEN s.r_plan < 0.40 THEN 'Vida Plena Essencial'
              WHEN s.r_plan < 0.65 THEN 'Vida Plena Família'
              ELSE 'Vida Plena Coletivo' END,
         '48765432' || (s.i % 10)::text,
         CASE WHEN s.r_plan < 0.40 THEN 'individual' WHEN s.r_plan < 0.65 THEN 'family'
              WHEN s.r_plan < 0.90 THEN 'collective_membership' ELSE 'collective_business' END,
         CASE WHEN s.r_plan < 0.65 THEN true WHEN s.r_plan < 0.80 THEN true ELSE false END,
         first_m - (s.i % 365)::int
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
   WHERE p.creditor_id = op_id
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'contract'; rows := n; RETURN NEXT;

  -- invoices.  Payment profile per payer (r_profile): punctual 60%, late 22%,
  -- partial 5%, defaulter 8% (stops paying 2 to 5 months before as_of),
  -- never pays 5%.
  CREATE TEMP TABLE sample_invoice ON COMMIT DROP AS
  SELECT p.id AS payer_id, c.id AS contract_id, s.i, s.r_profile, m.k,
         'premium'::text AS kind,
         (first_m + make_interval(months => m.k))::date AS competence,
         (first_m + make_interval(months => m.k))::date - 10 AS issued_on,
         (first_m + make_interval(months => m.k))::date + 9 AS due_on,
         round((180 + s.r_amount * 1200 * CASE c.plan_type WHEN 'family' THEN 2.2 ELSE 1 END)::numeric, 2) AS amount
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    JOIN cobranca.contract c ON c.payer_id = p.id
    CROSS JOIN generate_series(0, months) AS m(k)
   WHERE p.creditor_id = op_id
  UNION ALL
  SELECT p.id, c.id, s.i, s.r_profile, m.k, 'copay',
         (first_m + make_interval(months => m.k))::date,
         (first_m + make_interval(months => m.k))::date - 10,
         (first_m + make_interval(months => m.k))::date + 9,
         round((15 + cobranca.sample_random(seed, s.i * 1000 + m.k, 7) * 280)::numeric, 2)
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    JOIN cobranca.contract c ON c.payer_id = p.id
    CROSS JOIN generate_series(0, months - 1) AS m(k)
   WHERE p.creditor_id = op_id AND cobranca.sample_random(seed, s.i * 1000 + m.k, 8) < 0.25
  UNION ALL
  SELECT p.id, NULL, s.i, s.r_profile, m.k, 'private', NULL,
         (first_m + make_interval(months => m.k) + make_interval(days => (s.i % 20)::int))::date,
         (first_m + make_interval(months => m.k) + make_interval(days => (s.i % 20)::int + 15))::date,
         round((120 + cobranca.sample_random(seed, s.i * 1000 + m.k, 9) * 2400)::numeric, 2)
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    CROSS JOIN generate_series(0, months - 1) AS m(k)
   WHERE p.creditor_id = cl_id AND cobranca.sample_random(seed, s.i * 1000 + m.k, 10) < 0.15;

  INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence,
                                issued_on, due_on, amount)
  SELECT payer_id, contract_id,
         upper(substr(kind, 1, 2)) || '-' || i || '-' || k, kind, competence, issued_on, due_on, amount
    FROM sample_invoice
   WHERE issued_on <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'invoice'; rows := n; RETURN NEXT;

  -- payments, by profile; only those dated up to as_of exist yet
  INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
  SELECT inv.id, 'PG-' || inv.external_id,
         (x.paid_on + time '10:00' + make_interval(mins => (x.r * 600)::int)) AT TIME ZONE 'America/Sao_Paulo',
         CASE WHEN x.partial THEN round(inv.amount * 0.5, 2) ELSE inv.amount END,
         (ARRAY['pix','boleto','card','transfer','boleto','pix'])[1 + (inv.id % 6)::int]
    FROM sample_invoice s
    JOIN cobranca.invoice inv ON inv.payer_id = s.payer_id
                             AND inv.external_id = upper(substr(s.kind, 1, 2)) || '-' || s.i || '-' || s.k
    CROSS JOIN LATERAL (
      SELECT cobranca.sample_random(seed, inv.id, 11) AS r,
             s.due_on + CASE
               WHEN s.r_profile < 0.60 THEN -(s.i % 5)::int
               WHEN s.r_profile < 0.82 THEN 3 + (cobranca.sample_random(seed, inv.id, 12) * 45)::int
               ELSE (cobranca.sample_random(seed, inv.id, 12) * 10)::int END AS paid_on,
             s.r_profile >= 0.82 AND s.r_profile < 0.87 AND cobranca.sample_random(seed, inv.id, 13) < 0.4 AS partial,
             CASE
               WHEN s.r_profile >= 0.95 THEN false                                    -- never pays
               WHEN s.r_profile >= 0.87 THEN s.competence IS NULL
                      OR s.competence < (date_trunc('month', as_of)
                                         - make_interval(months => 1 + (s.i % 4)::int))::date
               WHEN s.kind = 'private' THEN cobranca.sample_random(seed, inv.id, 14) < 0.7
               ELSE cobranca.sample_random(seed, inv.id, 15) < 0.97 END AS pays
    ) x
   WHERE x.pays AND x.paid_on <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'payment'; rows := n; RETURN NEXT;

  -- disputes on 2% of the unpaid invoices; a third of them answered
  INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason, answered_on, outcome)
  SELECT inv.id, 'DS-' || inv.external_id, LEAST(inv.due_on + 5, as_of),
         (ARRAY['Valor de coparticipação não reconhecido', 'Reajuste contestado',
                'Cobrança em duplicidade alegada'])[1 + (inv.id % 3)::int],
         CASE WHEN cobranca.sample_random(seed, inv.id, 17) < 0.33 THEN LEAST(inv.due_on + 20, as_of) END,
         CASE WHEN cobranca.sample_random(seed, inv.id, 17) < 0.33 THEN 'rejected' END
    FROM cobranca.invoice inv
   WHERE inv.creditor_id IN (op_id, cl_id) AND inv.status = 'open'
     AND cobranca.sample_random(seed, inv.id, 16) < 0.02
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'dispute'; rows := n; RETURN NEXT;

  -- claims: 0 to 3 a month per contract; hospitalizations for 1.5% of them
  INSERT INTO cobranca.claim (contract_id, external_id, occurred_on, amount, category)
  SELECT c.id, 'SN-' || c.id || '-' || m.k || '-' || j,
         (first_m + make_interval(months => m.k, days => (j * 7 + c.id % 7)::int))::date,
         round((40 + cobranca.sample_random(seed, c.id * 10000 + m.k * 10 + j, 18)
                * CASE WHEN j = 3 THEN 6000 ELSE 450 END)::numeric, 2),
         (ARRAY['consultation','exam','therapy','hospital'])[1 + j]
    FROM cobranca.contract c
    CROSS JOIN generate_series(0, months - 1) AS m(k)
    CROSS JOIN generate_series(0, 3) AS j
   WHERE c.creditor_id = op_id
     AND cobranca.sample_random(seed, c.id * 10000 + m.k * 10 + j, 19) < CASE WHEN j = 3 THEN 0.02 ELSE 0.35 END
     AND (first_m + make_interval(months => m.k, days => (j * 7 + c.id % 7)::int))::date <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'claim'; rows := n; RETURN NEXT;

  INSERT INTO cobranca.hospitalization (contract_id, external_id, admitted_on, discharged_on)
  SELECT c.id, 'IN-' || c.id, as_of - 3 - (c.id % 40)::int,
         CASE WHEN cobranca.sample_random(seed, c.id, 21) < 0.5 THEN as_of - (c.id % 3)::int END
    FROM cobranca.contract c
   WHERE c.creditor_id = op_id AND cobranca.sample_random(seed, c.id, 20) < 0.015
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'hospitalization'; rows := n; RETURN NEXT;

  DROP TABLE pg_temp.sample_payer, pg_temp.sample_invoice;
END
$$;
COMMENT ON FUNCTION cobranca.generate_sample(integer, integer, integer, date) IS
  'creates a deterministic sample portfolio (an operator and a clinic, payers, contracts, premiums, copays, private bills, payments, disputes, claims, hospitalizations) and returns what it inserted';
