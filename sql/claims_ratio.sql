-- cobranca.claims_ratio(claims, premiums): exact percent with 2 decimals.

-- 700.00 of claims on 1000.00 of premiums is 70%
SELECT cobranca.claims_ratio(c, p) FROM (VALUES (300.00, 600.00), (400.00, 400.00)) v(c, p);
-- a third and two thirds: rounded to 2 decimals
SELECT cobranca.claims_ratio(1, 3) AS third, cobranca.claims_ratio(2, 3) AS two_thirds;
-- one cent on 200.00 is 0.005%: a tie, rounded away from zero (also below zero)
SELECT cobranca.claims_ratio(0.01, 200.00) AS tie_up, cobranca.claims_ratio(-0.01, 200.00) AS tie_down;
-- values with more than 2 decimals are rounded to the cent first (1.005 -> 1.01)
SELECT cobranca.claims_ratio(c, p) FROM (VALUES (1.005, 100), (-0.004, 0)) v(c, p);
-- long-form and tiny values: 1.5 with 70 decimals of display, 10^-8
SELECT cobranca.claims_ratio(round(1.5, 70), 3) AS long_form,
       cobranca.claims_ratio(round(-1.5, 70), 3) AS long_negative,
       cobranca.claims_ratio(0.00000001, 1) AS tiny;
-- zero premiums, premiums that cancel out, no rows, only NULLs: NULL
SELECT cobranca.claims_ratio(10, 0) AS zero_premiums;
SELECT cobranca.claims_ratio(c, p) AS cancelled_out FROM (VALUES (10, 100), (5, -100)) v(c, p);
SELECT cobranca.claims_ratio(c, p) AS no_rows FROM (VALUES (1, 1)) v(c, p) WHERE false;
SELECT cobranca.claims_ratio(NULL, NULL) AS only_nulls;
-- NULL claims add nothing: premiums without claims are 0%
SELECT cobranca.claims_ratio(c, p) FROM (VALUES (NULL::numeric, 100.00), (NULL, 50.00)) v(c, p);
-- NULL premiums add nothing either
SELECT cobranca.claims_ratio(c, p) FROM (VALUES (30.00, NULL), (0, 60.00)) v(c, p);
-- large values stay exact: 10^19 of claims on one cent
SELECT cobranca.claims_ratio(10000000000000000000.00, 0.01) AS huge;
SELECT cobranca.claims_ratio(99999999999999999999.99, 99999999999999999999.99) AS widest;
-- beyond 10^20, NaN and infinity are refused with a clear error
SELECT cobranca.claims_ratio(100000000000000000000, 1);
SELECT cobranca.claims_ratio(1, -100000000000000000000.00);
SELECT cobranca.claims_ratio('NaN', 1);
SELECT cobranca.claims_ratio(1, 'Infinity');

-- Exactness: the same as exact numeric arithmetic over many awkward values.
CREATE TABLE cr_rows AS
  SELECT g AS id,
         round((((g * 7919) % 100003) / 100.0)::numeric, 2) AS claims,
         round((((g * 104729) % 99991) / 100.0 + 0.01)::numeric, 2) AS premiums
    FROM generate_series(1::bigint, 30000) g;
SELECT cobranca.claims_ratio(claims, premiums) AS aggregate,
       round(sum(claims) * 100 / sum(premiums), 2) AS plain_sql,
       cobranca.claims_ratio(claims, premiums) = round(sum(claims) * 100 / sum(premiums), 2) AS same
  FROM cr_rows;
-- per group (many small states)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE a = b) AS equal
  FROM (SELECT id % 97 AS k, cobranca.claims_ratio(claims, premiums) AS a,
               round(sum(claims) * 100 / sum(premiums), 2) AS b
          FROM cr_rows GROUP BY 1) s;

-- Parallel plan: partial states serialized, combined, same result as serial.
ANALYZE cr_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = regress;
EXPLAIN (COSTS OFF) SELECT cobranca.claims_ratio(claims, premiums) FROM cr_rows;
SELECT cobranca.claims_ratio(claims, premiums) AS parallel FROM cr_rows;
SELECT id % 3 AS k, cobranca.claims_ratio(claims, premiums) AS parallel FROM cr_rows GROUP BY 1 ORDER BY 1;
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT id % 3 AS k, cobranca.claims_ratio(claims, premiums) AS serial FROM cr_rows GROUP BY 1 ORDER BY 1;

-- Moving 12-month window across a year boundary.  Contract 1: premiums of
-- 1000.00 every month of 2024 and 2025; claims of 500.00 a month, except
-- 12000.00 in 2024-01, none in 2025-01 and 3000.00 in 2025-06.
-- Contract 2: claims but no premium received (NULL ratio).
CREATE TABLE cr_months (contract int, month date, claims numeric, premiums numeric);
INSERT INTO cr_months
  SELECT 1, m::date,
         CASE WHEN m = '2024-01-01' THEN 12000.00 WHEN m = '2025-01-01' THEN NULL
              WHEN m = '2025-06-01' THEN 3000.00 ELSE 500.00 END,
         1000.00
    FROM generate_series('2024-01-01'::timestamp, '2025-12-01', '1 month') m;
INSERT INTO cr_months VALUES (2, '2024-11-01', 80.00, 0), (2, '2024-12-01', 20.00, NULL),
                             (2, '2025-01-01', NULL, 0);
CREATE VIEW cr_window AS
  SELECT contract, month,
         cobranca.claims_ratio(claims, premiums) OVER w AS ratio,
         round(sum(claims) OVER w * 100 / NULLIF(sum(premiums) OVER w, 0), 2) AS plain_sql,
         count(*) OVER w AS months
    FROM cr_months
  WINDOW w AS (PARTITION BY contract ORDER BY month ROWS BETWEEN 11 PRECEDING AND CURRENT ROW);
-- hand-computed: 2024-01 12000/1000 = 1200%; 2024-12 (12000 + 11 x 500)/12000
-- = 145.83%; 2025-01 (11 x 500)/12000 = 45.83%; 2025-06 (10 x 500 + 3000)/12000
-- = 66.67%; 2025-12 (10 x 500 + 3000)/12000 = 66.67%
SELECT contract, month, ratio, months FROM cr_window
 WHERE month IN ('2024-01-01', '2024-02-01', '2024-12-01', '2025-01-01', '2025-05-01',
                 '2025-06-01', '2025-12-01') OR contract = 2
 ORDER BY contract, month;
-- every row agrees with sum()/sum() over the same frame
SELECT count(*) AS rows, count(*) FILTER (WHERE ratio IS NOT DISTINCT FROM plain_sql) AS equal
  FROM cr_window;
-- a date-range frame with a gap (no row for 2025-03): the inverse step
-- removes rows that left the frame
DELETE FROM cr_months WHERE contract = 1 AND month = '2025-03-01';
-- (2025-12: 2025-01..2025-12 without 2025-03: 9 x 500 + 3000 on 11 x 1000 = 68.18%)
SELECT month, ratio, ratio = plain_sql AS same
  FROM (SELECT month,
               cobranca.claims_ratio(claims, premiums) OVER w AS ratio,
               round(sum(claims) OVER w * 100 / sum(premiums) OVER w, 2) AS plain_sql
          FROM cr_months WHERE contract = 1
        WINDOW w AS (ORDER BY month RANGE BETWEEN interval '11 months' PRECEDING AND CURRENT ROW)) s
 WHERE month >= '2025-01-01' ORDER BY month;

DROP VIEW cr_window;
DROP TABLE cr_months;
DROP TABLE cr_rows;
