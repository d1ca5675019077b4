\echo == Open balance and aging per portfolio (BRL, days past due as of today)
SELECT c.name AS creditor,
       p.name AS portfolio,
       count(*) FILTER (WHERE i.balance > 0)                                   AS open_invoices,
       sum(i.balance)                                                          AS open_balance,
       sum(i.balance) FILTER (WHERE i.due_on >= current_date)                  AS to_fall_due,
       sum(i.balance) FILTER (WHERE current_date - i.due_on BETWEEN 1 AND 30)   AS "1-30",
       sum(i.balance) FILTER (WHERE current_date - i.due_on BETWEEN 31 AND 60)  AS "31-60",
       sum(i.balance) FILTER (WHERE current_date - i.due_on BETWEEN 61 AND 90)  AS "61-90",
       sum(i.balance) FILTER (WHERE current_date - i.due_on BETWEEN 91 AND 180) AS "91-180",
       sum(i.balance) FILTER (WHERE current_date - i.due_on > 180)              AS ">180",
       sum(i.balance) FILTER (WHERE i.status = 'disputed')                     AS disputed
  FROM cobranca.invoice i
  JOIN cobranca.portfolio p ON p.id = i.portfolio_id
  JOIN cobranca.creditor c ON c.id = i.creditor_id
 WHERE i.status IN ('open', 'disputed', 'in_agreement')
 GROUP BY c.name, p.name
 ORDER BY c.name, p.name;

\echo == Invoices by status
SELECT kind, status, count(*) AS invoices, sum(amount) AS amount, sum(balance) AS balance
  FROM cobranca.invoice
 GROUP BY kind, status
 ORDER BY kind, status;
