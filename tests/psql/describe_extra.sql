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
CREATE SCHEMA docs;
CREATE TABLE docs.items (id int PRIMARY KEY, label varchar(20), qty int CONSTRAINT qty_pos CHECK (qty > 0));
CREATE VIEW docs.item_labels AS SELECT id, label FROM docs.items;
CREATE SEQUENCE docs.item_seq;
CREATE INDEX items_label ON docs.items (label);
COMMENT ON SCHEMA docs IS 'documented objects';
COMMENT ON TABLE docs.items IS 'things we stock';
COMMENT ON COLUMN docs.items.label IS 'shown to customers';
COMMENT ON COLUMN docs.items.qty IS 'on hand';
COMMENT ON VIEW docs.item_labels IS 'labels only';
COMMENT ON COLUMN docs.item_labels.label IS 'the label';
COMMENT ON SEQUENCE docs.item_seq IS 'item numbers';
COMMENT ON INDEX docs.items_label IS 'find by label';
COMMENT ON CONSTRAINT qty_pos ON docs.items IS 'no negative stock';
COMMENT ON MATERIALIZED VIEW sales_tot IS 'totals per region';
COMMENT ON COLUMN sales_tot.total IS 'sum of amounts';
\d+ docs.items
\d+ docs.item_labels
\d+ sales_tot
\dt+ docs.*
\dv+ docs.*
\ds+ docs.*
\di+ docs.*
\dm+
\dn+ docs
\dd docs.*
COMMENT ON TABLE docs.items IS NULL;
COMMENT ON COLUMN docs.items.qty IS '';
\d+ docs.items
\dt+ docs.*
CREATE TABLE docs.lines (item int REFERENCES docs.items INITIALLY DEFERRED, other int, CONSTRAINT lines_other FOREIGN KEY (other) REFERENCES docs.items ON DELETE CASCADE DEFERRABLE);
\d docs.lines
\d docs.items
CREATE VIEW docs.cheap WITH (security_barrier) AS SELECT id, qty FROM docs.items WHERE qty < 10 WITH LOCAL CHECK OPTION;
\d+ docs.cheap
\dv+ docs.*
