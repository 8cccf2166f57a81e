-- psql's describe meta-commands on materialized views, comments and
-- deferrable foreign keys. Run by tests/test_psql.py against AionDB and
-- PostgreSQL 15; outputs must match.
CREATE TABLE sales (id int PRIMARY KEY, region text, amount numeric(8,2));
INSERT INTO sales VALUES (1, 'n', 10), (2, 's', 20);
CREATE MATERIALIZED VIEW sales_tot AS SELECT region, sum(amount) AS total FROM sales GROUP BY region;
CREATE MATERIALIZED VIEW sales_big (i, a) AS SELECT id, amount FROM sales WHERE amount > 15 WITH NO DATA;
CREATE INDEX sales_tot_region ON sales_tot (region);
\d sales_tot
\d+ sales_tot
\d+ sales_big
\dm
\dm+
