#!/usr/bin/env bash
# The manager's page: $DEMO_OUT/report.html, a self-contained HTML file with
# the KPI table and inline SVG charts (aging buckets, recovery over time,
# claims ratio by month), drawn from cobranca.kpi_portfolio,
# cobranca.kpi_portfolio_at and cobranca.claims_premiums_monthly.
# Runs inside the demo's cluster (PGDATABASE and the server set by demo/show).
set -euo pipefail
out=${DEMO_OUT:?DEMO_OUT must name the output directory}/report.html
mkdir -p "$(dirname "$out")"

psql -qAtX -v ON_ERROR_STOP=1 -o "$out" <<'SQL'
CREATE FUNCTION pg_temp.esc(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(replace(replace(coalesce(t, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;

-- One chart: optional bars, optional lines (jsonb [{name, color, values}]),
-- an optional horizontal reference line; labels on the x axis.
CREATE FUNCTION pg_temp.chart(title text, labels text[], bars numeric[], bar_color text,
                              lines jsonb, ref numeric, ref_label text, unit text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  w constant numeric := 680; h constant numeric := 300;
  l constant numeric := 70;  r constant numeric := 20;
  t constant numeric := 40;  b constant numeric := 60;
  pw numeric := w - l - r; ph numeric := h - t - b;
  n int := coalesce(array_length(labels, 1), 0);
  slot numeric; top numeric; svg text; i int; v numeric; ln jsonb; pts text;
  x numeric; y numeric; k int;
BEGIN
  IF n = 0 THEN
    RETURN format('<p>%s: no data.</p>', pg_temp.esc(title));
  END IF;
  slot := pw / n;
  SELECT greatest(coalesce(max(z.val), 0), coalesce(ref, 0)) INTO top
    FROM (SELECT unnest(bars) AS val
          UNION ALL
          SELECT (e)::numeric FROM jsonb_array_elements(coalesce(lines, '[]')) s,
                 jsonb_array_elements_text(s->'values') e WHERE e IS NOT NULL AND e <> 'null') z;
  -- a round scale: four steps of 1, 2, 2.5 or 5 times a power of ten
  IF top <= 0 THEN
    top := 1;
  ELSE
    v := top * 1.05 / 4;
    x := power(10, floor(log(v)));
    top := 4 * x * (SELECT min(m) FROM unnest(ARRAY[1, 2, 2.5, 5, 10]) m WHERE m * x >= v);
  END IF;
  svg := format('<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img">'
                '<title>%s</title><text x="%s" y="22" font-size="15" font-weight="bold">%s</text>',
                w, h, w, h, pg_temp.esc(title), l, pg_temp.esc(title));
  -- grid and y axis labels
  FOR k IN 0..4 LOOP
    y := t + ph - ph * k / 4;
    svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>'
                         '<text x="%s" y="%s" font-size="10" text-anchor="end">%s%s</text>',
                         l, round(y, 1), w - r, round(y, 1), l - 6, round(y + 3, 1),
                         to_char(top * k / 4, 'FM999G999G990'), unit);
  END LOOP;
  -- bars with their values
  IF bars IS NOT NULL THEN
    FOR i IN 1..n LOOP
      v := bars[i];
      CONTINUE WHEN v IS NULL;
      x := l + (i - 1) * slot + slot * 0.15;
      y := t + ph - ph * v / top;
      svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>'
                           '<text x="%s" y="%s" font-size="9" text-anchor="middle">%s</text>',
                           round(x, 1), round(y, 1), round(slot * 0.7, 1), round(t + ph - y, 1), bar_color,
                           pg_temp.esc(labels[i]), v,
                           round(x + slot * 0.35, 1), round(y - 3, 1), to_char(v, 'FM999G999G990'));
    END LOOP;
  END IF;
  -- lines, with a legend
  k := 0;
  FOR ln IN SELECT * FROM jsonb_array_elements(coalesce(lines, '[]')) LOOP
    pts := '';
    FOR i IN 1..n LOOP
      IF ln->'values'->>(i - 1) IS NOT NULL THEN
        v := (ln->'values'->>(i - 1))::numeric;
        x := l + (i - 1) * slot + slot / 2;
        y := t + ph - ph * v / top;
        pts := pts || round(x, 1) || ',' || round(y, 1) || ' ';
        svg := svg || format('<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s %s: %s%s</title></circle>',
                             round(x, 1), round(y, 1), ln->>'color', pg_temp.esc(ln->>'name'),
                             pg_temp.esc(labels[i]), v, unit);
      END IF;
    END LOOP;
    svg := svg || format('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>'
                         '<rect x="%s" y="%s" width="10" height="10" fill="%s"/>'
                         '<text x="%s" y="%s" font-size="11">%s</text>',
                         trim(pts), ln->>'color', w - r - 190, t + 4 + k * 16, ln->>'color',
                         w - r - 175, t + 13 + k * 16, pg_temp.esc(ln->>'name'));
    k := k + 1;
  END LOOP;
  -- reference line
  IF ref IS NOT NULL THEN
    y := t + ph - ph * ref / top;
    svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#c0392b" stroke-dasharray="6 4"/>'
                         '<text x="%s" y="%s" font-size="10" fill="#c0392b">%s</text>',
                         l, round(y, 1), w - r, round(y, 1), l + 4, round(y - 4, 1), pg_temp.esc(ref_label));
  END IF;
  -- x axis
  svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>', l, t + ph, w - r, t + ph);
  FOR i IN 1..n LOOP
    x := l + (i - 1) * slot + slot / 2;
    svg := svg || format('<text x="%s" y="%s" font-size="10" text-anchor="middle">%s</text>',
                         round(x, 1), t + ph + 15, pg_temp.esc(labels[i]));
  END LOOP;
  RETURN svg || '</svg>';
END
$$;

CREATE TEMP TABLE month_ends AS
  SELECT (date_trunc('month', current_date) - make_interval(months => g) - interval '1 day')::date AS d
    FROM generate_series(0, 11) g;
CREATE TEMP TABLE history AS
  SELECT k.* FROM month_ends m CROSS JOIN LATERAL cobranca.kpi_portfolio_at(m.d) k;

WITH kpi AS (
  SELECT * FROM cobranca.kpi_portfolio ORDER BY creditor_id, portfolio_id
), colors(i, color) AS (
  VALUES (1, '#1f77b4'), (2, '#ff7f0e'), (3, '#2ca02c'), (4, '#9467bd'), (5, '#8c564b'), (6, '#e377c2')
), ports AS (
  SELECT k.portfolio_id, k.portfolio_name, c.name AS creditor, c.claims_break_even_pct,
         row_number() OVER (ORDER BY k.creditor_id, k.portfolio_id) AS i
    FROM kpi k JOIN cobranca.creditor c ON c.id = k.creditor_id
), kpi_table AS (
  SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                           '<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
                           pg_temp.esc(p.creditor), pg_temp.esc(k.portfolio_name),
                           to_char(k.open_balance, 'FM999G999G990D00'), to_char(k.overdue_balance, 'FM999G999G990D00'),
                           coalesce(k.recovery_rate_pct::text, '–'), coalesce(k.effective_contact_rate_pct::text, '–'),
                           coalesce(k.agreement_rate_pct::text, '–'), coalesce(k.mean_days_to_receive::text, '–'),
                           coalesce(k.dso_days::text, '–'), coalesce(k.cost_per_real_recovered::text, '–'),
                           coalesce(k.notices_confirmed_by_day50_pct::text, '–'),
                           coalesce(k.churn_default_pct::text, '–'), k.as_of),
                    '' ORDER BY p.i) AS rows
    FROM kpi k JOIN ports p USING (portfolio_id)
), aging AS (
  SELECT string_agg(pg_temp.chart('Aging — ' || p.portfolio_name || ' (BRL)',
                                  ARRAY['to fall due', '1–30', '31–60', '61–90', '91–180', '>180', 'disputed'],
                                  ARRAY[k.aging_to_fall_due, k.aging_1_30, k.aging_31_60, k.aging_61_90,
                                        k.aging_91_180, k.aging_over_180, k.disputed_balance],
                                  c.color, NULL, NULL, NULL, ''), '' ORDER BY p.i) AS svg
    FROM kpi k JOIN ports p USING (portfolio_id) JOIN colors c ON c.i = 1 + (p.i - 1) % 6
), recovery AS (
  SELECT pg_temp.chart('Recovery rate, 30 days to each month end (%)',
                       (SELECT array_agg(to_char(d, 'YYYY-MM') ORDER BY d) FROM month_ends),
                       NULL, NULL,
                       (SELECT jsonb_agg(jsonb_build_object(
                                 'name', p.portfolio_name, 'color', c.color,
                                 'values', (SELECT jsonb_agg(h.recovery_rate_pct ORDER BY m.d)
                                              FROM month_ends m
                                              LEFT JOIN history h ON h.as_of = m.d AND h.portfolio_id = p.portfolio_id))
                                 ORDER BY p.i)
                          FROM ports p JOIN colors c ON c.i = 1 + (p.i - 1) % 6),
                       NULL, NULL, '%') AS svg
), claims AS (
  SELECT m.month,
         cobranca.claims_ratio(m.claims, m.premiums_received) AS monthly,
         cobranca.claims_ratio(sum(m.claims), sum(m.premiums_received))
           OVER (ORDER BY m.month ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS rolling,
         max(c.claims_break_even_pct) AS break_even
    FROM cobranca.claims_premiums_monthly m
    JOIN cobranca.creditor c ON c.id = m.creditor_id
   WHERE m.month < date_trunc('month', current_date)
   GROUP BY m.month
), claims_chart AS (
  SELECT pg_temp.chart('Claims ratio by month (%): bars = the month, line = rolling 12 months',
                       array_agg(to_char(month, 'YYYY-MM') ORDER BY month),
                       array_agg(monthly ORDER BY month), '#9ecae1',
                       jsonb_build_array(jsonb_build_object('name', 'rolling 12 months', 'color', '#08519c',
                                                            'values', jsonb_agg(rolling ORDER BY month))),
                       max(break_even), 'break-even ' || max(break_even) || '%', '%') AS svg
    FROM claims
)
SELECT concat_ws(E'\n',
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Collection KPIs</title>',
  '<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}'
  'td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}'
  'th{background:#f3f3f3}svg{margin:1em 1em 0 0;border:1px solid #eee}</style></head><body>',
  format('<h1>Collection KPIs</h1><p>As of %s (snapshot computed %s). Definitions: doc/kpis.md.</p>',
         (SELECT max(as_of) FROM kpi), (SELECT to_char(max(computed_at), 'YYYY-MM-DD HH24:MI TZ') FROM kpi)),
  '<table><tr><th>creditor</th><th>portfolio</th><th>open BRL</th><th>overdue BRL</th><th>recovery %</th>'
  '<th>effective contact %</th><th>agreement %</th><th>days to receive</th><th>DSO</th>'
  '<th>cost / BRL recovered</th><th>notices by day 50 %</th><th>churn by default %</th><th>as of</th></tr>',
  (SELECT rows FROM kpi_table), '</table>',
  '<h2>Aging buckets</h2>', (SELECT svg FROM aging),
  '<h2>Recovery over time</h2>', (SELECT svg FROM recovery),
  '<h2>Claims ratio</h2>', (SELECT svg FROM claims_chart),
  '</body></html>');
SQL
echo "== Report with charts written to $out ($(wc -c <"$out") bytes)"
