-- What the analyst works from: the model, the worklist, an agreement
-- simulation and the PIX code of an invoice.
\pset footer off

\echo == Payment-probability model: trained on the portfolio history (holdout AUC against the shipped default)
SELECT cobranca.train_score_model(current_date) AS new_model \gset
SELECT id AS model, active, shipped, training_size, holdout_size,
       round(holdout_auc::numeric, 4) AS holdout_auc, round(previous_auc::numeric, 4) AS previous_auc
  FROM cobranca.score_model ORDER BY id;
SELECT cobranca.refresh_scores(now()) AS invoices_rescored;

-- an analyst working the first portfolio
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_analyst') THEN
    CREATE ROLE demo_analyst IN ROLE cobranca_analyst;
  END IF;
END $$;
INSERT INTO cobranca.assignment (login, portfolio_id)
  SELECT 'demo_analyst', min(id) FROM cobranca.portfolio
  ON CONFLICT DO NOTHING;

\echo == Worklist of demo_analyst (first portfolio), top 10 by priority
SET ROLE demo_analyst;
SELECT payer_id, payer_name, document, invoices, max_days_overdue AS days, balance,
       updated_amount, probability, priority, best_channel, last_outcome
  FROM cobranca.worklist LIMIT 10;
SELECT payer_id AS top_payer, invoice_ids AS top_invoices, invoice_ids[1] AS top_invoice
  FROM cobranca.worklist LIMIT 1 \gset
RESET ROLE;

\echo == Updated amount of the top invoice (principal + fine 2% + interest 1% a month pro rata die)
SELECT i.id, i.kind, i.due_on, b.*
  FROM cobranca.invoice i, cobranca.updated_amount_breakdown(i.id, current_date) b
 WHERE i.id = :top_invoice;

\echo == Agreement simulation for the top payer: 10% off, 6 installments, first in 5 days
SELECT * FROM cobranca.simulate_agreement(:'top_invoices'::bigint[], 6, 10, current_date + 5);
SELECT cobranca.propose_agreement(:'top_invoices'::bigint[], 6, 10, current_date + 5) AS agreement \gset
SELECT id, tier, debt_total, discount_pct, total, installments, needs_approval, beyond_tier, status
  FROM cobranca.agreement WHERE id = :agreement;

\echo == PIX copia e cola of the top invoice (updated amount)
SELECT cobranca.invoice_pix(:top_invoice) AS pix;
