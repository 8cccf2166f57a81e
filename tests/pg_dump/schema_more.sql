-- More for pg_dump: schema and index and constraint comments, a generated
-- column, unique expression and DESC indexes, a DEFERRABLE foreign key with ON
-- UPDATE, a NOT VALID check, a cycling sequence, a view over a LEFT JOIN with
-- USING, an index on a materialized view, and a value of every common type.
CREATE SCHEMA inv;
COMMENT ON SCHEMA inv IS 'inventory';
CREATE TABLE inv.items (sku text PRIMARY KEY, qty int NOT NULL DEFAULT 0 CHECK (qty >= 0), price numeric(8,2), total numeric GENERATED ALWAYS AS (qty * price) STORED, added date NOT NULL DEFAULT '2020-01-01', flags boolean[] DEFAULT '{}');
CREATE UNIQUE INDEX items_lower_sku ON inv.items (lower(sku));
CREATE INDEX items_price_desc ON inv.items (price DESC, sku);
CREATE TABLE inv.moves (id bigserial PRIMARY KEY, sku text REFERENCES inv.items ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED, delta int NOT NULL, at timestamp NOT NULL DEFAULT '2021-02-03 04:05:06', UNIQUE (sku, at));
ALTER TABLE inv.moves ADD CONSTRAINT delta_nonzero CHECK (delta <> 0) NOT VALID;
COMMENT ON COLUMN inv.moves.delta IS 'signed';
COMMENT ON INDEX inv.items_price_desc IS 'by price';
COMMENT ON CONSTRAINT delta_nonzero ON inv.moves IS 'no empty moves';
CREATE SEQUENCE inv.cyc MINVALUE 1 MAXVALUE 10 CYCLE CACHE 1;
CREATE VIEW inv.stock AS SELECT i.sku, i.qty + coalesce(sum(m.delta), 0) AS qty FROM inv.items i LEFT JOIN inv.moves m USING (sku) GROUP BY i.sku, i.qty;
COMMENT ON VIEW inv.stock IS 'current stock';
CREATE MATERIALIZED VIEW inv.expensive AS SELECT sku, price FROM inv.items WHERE price > 10;
CREATE INDEX expensive_price ON inv.expensive (price);
CREATE TABLE inv.notes (id int, body text, v float8, r real, s smallint, b bytea, u uuid, j json, t time, iv interval, ts timestamptz, c char(3), vc varchar);
INSERT INTO inv.items (sku, qty, price) VALUES ('A-1', 5, 12.5), ('b-2', 0, 3), ('C"3', 7, NULL);
INSERT INTO inv.moves (sku, delta) VALUES ('A-1', 2);
INSERT INTO inv.moves (sku, delta, at) VALUES ('A-1', -1, '2022-01-01');
INSERT INTO inv.notes VALUES (1, E'multi\nline\\', 1.5e300, 0.1, -3, '\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '12:34:56', '1 day 2 hours', '2020-01-01 00:00:00+00', 'ab', 'x'), (2, NULL, 'NaN', '-Infinity', NULL, '', NULL, 'null', NULL, '-1 mon', NULL, NULL, '');
SELECT setval('inv.cyc', 9);
REFRESH MATERIALIZED VIEW inv.expensive;
