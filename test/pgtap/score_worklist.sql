-- The worklist: the current user's portfolios only, one line per payer,
-- highest priority first, masked documents, best channel, last contact.
BEGIN;
SELECT plan(15);

CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE res text;
BEGIN
  EXECUTE pg_catalog.format('SET SESSION AUTHORIZATION %I', r);
  BEGIN
    EXECUTE q INTO res;
  EXCEPTION WHEN OTHERS THEN
    res := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
  END;
  RESET SESSION AUTHORIZATION;
  RETURN res;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.as_role(name, text) TO PUBLIC;
CREATE ROLE wl_test_ana LOGIN IN ROLE cobranca_analyst;

INSERT INTO cobranca.creditor (name, document, kind, city, uf)
  VALUES ('Clínica Lista', '11222333000181', 'clinic', 'Curitiba', 'PR');
INSERT INTO cobranca.portfolio (creditor_id, name)
  SELECT id, x FROM cobranca.creditor, (VALUES ('wl-a'), ('wl-b')) v(x) WHERE document = '11222333000181';
INSERT INTO cobranca.assignment (login, portfolio_id)
  SELECT 'wl_test_ana', id FROM cobranca.portfolio WHERE name = 'wl-a';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, email, phone, whatsapp, opt_out)
  SELECT p.id, x.ext, x.doc, x.name, x.email, x.phone, x.wa, x.opt::text[]
    FROM cobranca.portfolio p JOIN (VALUES
      ('wl-a', 'W1', '14538220620', 'Grande Devedor', 'g@example.com', '11987654321', '11987654321', '{whatsapp}'),
      ('wl-a', 'W2', '12345678909', 'Pequeno Devedor', 'p@example.com', NULL, NULL, '{}'),
      ('wl-a', 'W3', '98765432100', 'Só Contestado', NULL, '11912345678', NULL, '{}'),
      ('wl-b', 'W4', '52998224725', 'Outra Carteira', 'o@example.com', NULL, NULL, '{}'))
      x(pf, ext, doc, name, email, phone, wa, opt) ON x.pf = p.name;
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT p.id, x.ext, 'private', CURRENT_DATE - x.age - 10, CURRENT_DATE - x.age, x.amount
    FROM cobranca.payer p JOIN (VALUES
      ('W1', 'w1a', 20, 4000.00), ('W1', 'w1b', 50, 1500.00), ('W1', 'w1c', -5, 700.00),  -- one not yet due
      ('W2', 'w2a', 30, 120.00),
      ('W3', 'w3a', 30, 900.00),
      ('W4', 'w4a', 30, 5000.00)) x(payer, ext, age, amount) ON x.payer = p.external_id;
INSERT INTO cobranca.dispute (invoice_id, reason)
  SELECT id, 'não reconhece' FROM cobranca.invoice WHERE external_id = 'w3a';
-- a call with W1 that ended in a promise to pay
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at, status, outcome)
  SELECT i.creditor_id, i.portfolio_id, i.payer_id, ARRAY[i.id], 'phone', (s AT TIME ZONE 'America/Sao_Paulo')::date, s,
         'done', 'promise_to_pay'
    FROM cobranca.invoice i,
         cobranca.next_contact_slot(now() - interval '5 days', 'phone', 'America/Sao_Paulo', 'PR') s
   WHERE i.external_id = 'w1a';

SELECT is(cobranca.refresh_scores(now()) >= 4, true, 'refresh_scores scores the open overdue invoices');
SELECT is((SELECT count(*) FROM cobranca.invoice_score s JOIN cobranca.invoice i ON i.id = s.invoice_id
            WHERE i.external_id IN ('w1c', 'w3a')), 0::bigint, 'not what is not yet due or disputed');

CREATE TEMP TABLE mine AS
  SELECT pg_temp.as_role('wl_test_ana',
    $$SELECT json_agg(w ORDER BY ord)::text FROM (SELECT row_number() OVER () AS ord, w.* FROM cobranca.worklist w) w$$)::json AS j;
SELECT is((SELECT array_agg(e->>'payer_name' ORDER BY (e->>'ord')::int) FROM mine, json_array_elements(j) e),
          '{"Grande Devedor","Pequeno Devedor"}'::text[],
          'the analyst sees the payers of her portfolio with open overdue invoices, highest priority first');
SELECT ok((SELECT bool_and((e->>'document') LIKE '%*%') FROM mine, json_array_elements(j) e),
          'documents are masked');
SELECT is((SELECT (e->>'invoices')::int FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Grande Devedor'),
          2, 'one line per payer, with only the overdue invoices');
SELECT is((SELECT (e->>'updated_amount')::numeric FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Grande Devedor'),
          (SELECT cobranca.updated_amount(i.id, (now() AT TIME ZONE 'America/Sao_Paulo')::date) FROM cobranca.invoice i WHERE external_id = 'w1a')
          + (SELECT cobranca.updated_amount(i.id, (now() AT TIME ZONE 'America/Sao_Paulo')::date) FROM cobranca.invoice i WHERE external_id = 'w1b'),
          'the updated amount adds up the invoices''');
SELECT ok((SELECT (e->>'priority')::numeric > 0 AND (e->>'probability')::numeric BETWEEN 0 AND 1
             FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Grande Devedor'),
          'probability and priority are shown');
SELECT is((SELECT e->>'last_outcome' FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Grande Devedor'),
          'promise_to_pay', 'the last contact''s outcome is shown');
SELECT is((SELECT e->>'best_channel' FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Grande Devedor'),
          'phone', 'best channel: the one that worked, never an opted-out one');
SELECT is((SELECT e->>'best_channel' FROM mine, json_array_elements(j) e WHERE e->>'payer_name' = 'Pequeno Devedor'),
          'email', 'best channel: the only one the payer can be reached on');
SELECT is((SELECT count(*) FROM cobranca.worklist), 3::bigint, 'a superuser sees every portfolio');
SELECT is(cobranca.refresh_scores(now()), 0::bigint, 'a second run on the same day redoes nothing');
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
  SELECT id, now(), 500.00, 'pix' FROM cobranca.invoice WHERE external_id = 'w1b';
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
  SELECT id, now(), amount, 'pix' FROM cobranca.invoice WHERE external_id = 'w2a';
SELECT is(cobranca.refresh_scores(now()), 1::bigint, 'a partial payment gets its invoice rescored');
SELECT is((SELECT count(*) FROM cobranca.invoice_score s JOIN cobranca.invoice i ON i.id = s.invoice_id
            WHERE i.external_id = 'w2a'), 0::bigint, 'a paid invoice leaves the scores');
SELECT is((SELECT count(*) FROM (SELECT priority, lag(priority) OVER () AS prev FROM cobranca.worklist) w
            WHERE w.prev < w.priority), 0::bigint, 'ordered by priority, highest first');

SELECT * FROM finish();
ROLLBACK;
