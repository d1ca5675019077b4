-- Money: late charges, installment splits and schedules, PIX, boleto.
\set VERBOSITY terse

-- late charges: caps (2% fine, 1% a month), day counts, half-even cents
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-01-10', 2, 1);  -- due today: nothing
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-01-09', 2, 1);  -- before due: nothing
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-01-11', 2, 1);  -- 1 day
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 2, 1);  -- 30 days = 1%
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2027-01-10', 2, 1);  -- 365 days
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 2.5, 1.5); -- capped
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 0.5, 0.25);
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 2, 1, 10, false); -- 10 disputed days
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 2, 1, 10, true);  -- disputed now: no fine
SELECT * FROM cobranca.late_charges(1000.00, '2026-01-10', '2026-02-09', 2, 1, 90, false); -- more disputed days than late
-- half-even: 15.00 x 1%/30 = 0.005 -> 0.00; 45.00 -> 0.015 -> 0.02; fine 0.25 x 2% = 0.005 -> 0.00; 0.75 -> 0.02
SELECT (cobranca.late_charges(15.00, '2026-01-10', '2026-01-11', 0, 1)).interest AS i15,
       (cobranca.late_charges(45.00, '2026-01-10', '2026-01-11', 0, 1)).interest AS i45,
       (cobranca.late_charges(0.25, '2026-01-10', '2026-01-11', 2, 0)).fine AS f025,
       (cobranca.late_charges(0.75, '2026-01-10', '2026-01-11', 2, 0)).fine AS f075;
SELECT * FROM cobranca.late_charges(10.005, '2026-01-10', '2026-01-11', 2, 1);  -- not cents: error

-- updated_amount on invoices (creditor rates 2% and 1%; one disputed 10 days)
INSERT INTO cobranca.creditor (name, document, kind, city, uf, pix_key, fine_pct, interest_month_pct)
  VALUES ('Clínica São José Ltda', '33445566000186', 'clinic', 'São Paulo', 'SP', '33445566000186', 2, 1)
  RETURNING id AS cred \gset
INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (:cred, 'particulares') RETURNING id AS pf \gset
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
  VALUES (:cred, :pf, 'P1', '14538220620', 'Maria da Silva') RETURNING id AS payer \gset
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT :cred, :pf, :payer, x.ext, 'private', '2026-01-01', '2026-01-10', x.amount
    FROM (VALUES ('I1', 1000.00), ('I2', 1000.00), ('I3', 333.33)) x(ext, amount);
INSERT INTO cobranca.dispute (invoice_id, opened_on, reason, answered_on, outcome)
  SELECT id, '2026-01-15', 'valor em duplicidade', '2026-01-25', 'rejected'
    FROM cobranca.invoice WHERE creditor_id = :cred AND external_id = 'I2';
SELECT i.external_id, b.*
  FROM cobranca.invoice i, cobranca.updated_amount_breakdown(i.id, '2026-02-09') b
 WHERE i.creditor_id = :cred
 ORDER BY i.external_id;
SELECT i.external_id, cobranca.updated_amount(i.id, '2026-01-20') AS during_dispute
  FROM cobranca.invoice i WHERE i.creditor_id = :cred ORDER BY i.external_id;
SELECT cobranca.updated_amount(-1, '2026-01-20') AS unknown_invoice;

-- installment splits: sum to the cent, remainder on the first
SELECT cobranca.split_amount(100.00, 3) AS s100_3, cobranca.split_amount(0.05, 2) AS s005_2,
       cobranca.split_amount(1000.01, 7) AS s1000_7, cobranca.split_amount(0.07, 7) AS s007_7;
SELECT t, n, (SELECT sum(x) FROM unnest(cobranca.split_amount(t, n)) x) = t AS sums
  FROM (VALUES (100.00, 3), (0.05, 2), (1000.01, 7), (99999.99, 12), (0.10, 3)) v(t, n);
SELECT cobranca.split_amount(0.01, 2);
SELECT cobranca.split_amount(10.00, 0);
-- schedule: monthly, clamped to month end, moved past weekends and holidays
-- (2026-03-07 Sat -> 03-09; 2026-04-07; 2026-05-07; 2026-06-07 Sun -> 06-08)
SELECT * FROM cobranca.installment_schedule(100.00, 4, '2026-03-07');
-- 2026-01-31 -> Feb 28 (Sat) -> Mar 2; Mar 31; Apr 30; May 31 (Sun) -> Jun 1
SELECT * FROM cobranca.installment_schedule(0.05, 2, '2026-01-31');
SELECT * FROM cobranca.installment_schedule(400.00, 5, '2026-01-31');
-- holidays: Good Friday 2026-04-03, Corpus Christi 2026-06-04 (Apr 4 is a Saturday)
SELECT * FROM cobranca.installment_schedule(30.00, 3, '2026-04-03');
SELECT * FROM cobranca.installment_schedule(50.00, 5, '2026-02-04');
-- Christmas 2026 (Fri) -> 12-28; New Year 2027 (Fri) -> 01-04
SELECT * FROM cobranca.installment_schedule(20.00, 2, '2026-12-25');
SELECT * FROM cobranca.installment_schedule(20.00, 2, '2026-12-01');

-- CRC16-CCITT-FALSE check value
SELECT cobranca.crc16_ccitt('123456789') AS crc_check;
-- an independent CRC, bit by bit in PL/pgSQL
CREATE FUNCTION pg_temp.crc(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c int := 65535; b int;
BEGIN
  FOREACH b IN ARRAY (SELECT array_agg(get_byte(convert_to(t, 'UTF8'), i) ORDER BY i)
                        FROM generate_series(0, octet_length(convert_to(t, 'UTF8')) - 1) i) LOOP
    c := c # (b << 8);
    FOR k IN 1..8 LOOP
      IF c & 32768 <> 0 THEN c := ((c << 1) # 4129) & 65535; ELSE c := (c << 1) & 65535; END IF;
    END LOOP;
  END LOOP;
  RETURN upper(lpad(to_hex(c), 4, '0'));
END $$;
SELECT pg_temp.crc('123456789') AS independent_crc_check;

-- PIX: the Banco Central manual's example, byte for byte
SELECT cobranca.pix_payload('123e4567-e12b-12d1-a456-426655440000', 'Fulano de Tal', 'BRASILIA');
-- with amount and txid; accents dropped, name cut to 25, city to 15
SELECT p, right(p, 4) = pg_temp.crc(left(p, -4)) AS crc_ok
  FROM cobranca.pix_payload('11222333000181', 'Clínica São José de Ribeirão Preto Ltda', 'São José dos Campos',
                            1234.5, 'COB42') p;
SELECT right(p, 4) = pg_temp.crc(left(p, -4)) AS crc_ok, length(p)
  FROM cobranca.pix_payload('fulano@example.com', 'Açaí & Cia', 'Macapá', 0.01, NULL) p;
SELECT cobranca.pix_payload('chave', 'Nome', 'Cidade', 10, 'tx-1');
SELECT cobranca.pix_payload('chave', 'Nome', 'Cidade', 0, NULL);
SELECT cobranca.pix_payload('', 'Nome', 'Cidade', 10, NULL);
SELECT cobranca.pix_payload('chave', '***', 'Cidade', 10, NULL);
SELECT cobranca.pix_payload(NULL, 'Nome', 'Cidade', 10, NULL);
-- for an invoice: the creditor's key, the updated amount, txid COB<id>
SELECT p LIKE '%5802BR%' AND p LIKE '%0014br.gov.bcb.pix0114' || '33445566000186%' AS has_key,
       p LIKE '%5407' || cobranca.updated_amount(i.id, '2026-02-09')::text || '5802BR%' AS has_amount,
       p LIKE '%0503COB%' OR p LIKE '%0504COB%' OR p LIKE '%0505COB%' AS has_txid,
       right(p, 4) = pg_temp.crc(left(p, -4)) AS crc_ok
  FROM cobranca.invoice i, cobranca.invoice_pix(i.id, '2026-02-09') p
 WHERE i.creditor_id = :cred AND i.external_id = 'I1';
SELECT cobranca.invoice_pix(-1);

-- boleto: valid lines (dots and blanks as printed), broken digits, due dates
SELECT l, cobranca.boleto_line_valid(l) AS valid
  FROM (VALUES
    ('00190.00009 01234.567897 01234.567178 4 13870000012345'),
    ('00190000090123456789701234567178413870000012345'),
    ('23791.23454 00000.000000 00001.234509 4 97120000098765'),
    ('34191.09008 00000.000000 00000.000000 1 00000000000100'),
    ('00190.00008 01234.567897 01234.567178 4 13870000012345'),  -- field 1 digit
    ('00190.00009 01234.567890 01234.567178 4 13870000012345'),  -- field 2 digit
    ('00190.00009 01234.567897 01234.567179 4 13870000012345'),  -- field 3 digit
    ('00190.00009 01234.567897 01234.567178 5 13870000012345'),  -- general digit
    ('00190.00009 01234.567897 01234.567178 4 13870000012346'),  -- amount changed
    ('00190.00009 01234.567897 01234.567178 4 1387000001234'),   -- 46 digits
    ('00190-00009 01234.567897 01234.567178 4 13870000012345'),  -- stray character
    ('')) v(l);
SELECT cobranca.boleto_due_date('00190.00009 01234.567897 01234.567178 4 13870000012345', '2026-01-01') AS new_cycle,
       cobranca.boleto_due_date('23791.23454 00000.000000 00001.234509 4 97120000098765', '2024-05-01') AS old_cycle,
       cobranca.boleto_due_date('34191.09008 00000.000000 00000.000000 1 00000000000100', '2026-01-01') AS no_due_date;
-- factor 1000: 2000-07-03 in the first cycle, 2025-02-22 in the second
SELECT cobranca.boleto_due_date(l, '2000-01-01') AS first_cycle, cobranca.boleto_due_date(l, '2025-03-01') AS second_cycle
  FROM (VALUES ('00190.00009 01234.567897 01234.567178 9 10000000012345')) v(l)
 WHERE cobranca.boleto_line_valid(l);
SELECT cobranca.boleto_due_date('00190.00009 01234.567897 01234.567178 5 13870000012345');
