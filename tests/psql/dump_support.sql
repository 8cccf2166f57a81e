-- What pg_dump reads back: OWNED BY links (ALTER and CREATE SEQUENCE),
-- expression and partial indexes (pg_get_indexdef, pg_attribute), and a
-- view's dependencies on the relations it reads.
CREATE SCHEMA s1;
CREATE TABLE s1.ow (id int NOT NULL, v int, name text, meta jsonb);
CREATE SEQUENCE s1.ow_seq;
ALTER SEQUENCE s1.ow_seq OWNED BY s1.ow.id;
CREATE SEQUENCE s1.ow_seq2 OWNED BY s1.ow.v;
SELECT d.objid::regclass, d.refobjid::regclass, d.refobjsubid, d.deptype FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.deptype <> 'n' AND d.objid::regclass::text LIKE 's1.%'
  ORDER BY 1;
ALTER SEQUENCE s1.ow_seq OWNED BY NONE;
SELECT count(*) FROM pg_depend d WHERE d.objid = 's1.ow_seq'::regclass AND d.deptype = 'a';
CREATE SEQUENCE public.pub_seq;
ALTER SEQUENCE public.pub_seq OWNED BY s1.ow.id;
ALTER SEQUENCE s1.ow_seq OWNED BY s1.ow.nope;
ALTER SEQUENCE s1.ow_seq OWNED BY ow;
ALTER SEQUENCE s1.ow_seq OWNED BY s1.ow.v;
DROP TABLE s1.ow;
SELECT relname FROM pg_class WHERE relname LIKE 'ow_seq%' ORDER BY 1;
CREATE TABLE ix (a int, b int, name text, meta jsonb);
CREATE INDEX ix_lower ON ix (lower(name));
CREATE INDEX ix_sum ON ix ((a + b)) WHERE a > 0;
CREATE INDEX ix_cast ON ix ((a::text), abs(b) DESC);
CREATE INDEX ix_json ON ix ((meta ->> 'k'));
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname LIKE 'ix\_%' ORDER BY 1, 2;
SELECT pg_get_indexdef('ix_sum'::regclass), pg_get_indexdef('ix_cast'::regclass, 1, false),
  pg_get_indexdef('ix_cast'::regclass, 2, false);
\d ix
CREATE VIEW ixv AS SELECT a, name FROM ix WHERE b > 1;
SELECT DISTINCT d.refobjid::regclass, d.deptype FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class = 'ixv'::regclass ORDER BY 1, 2;
SELECT typname[0], typname[1], typname[70] IS NULL FROM pg_type WHERE typname = '_int4';
SELECT acldefault('r', 10), acldefault('d', 10), acldefault('f', 10);
SELECT * FROM pg_options_to_table(ARRAY['fillfactor=70', 'autovacuum_enabled=false', 'bare']);
