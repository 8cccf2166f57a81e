-- Column defaults bind their relations when created, as PostgreSQL binds
-- them by OID: a serial column keeps working under an empty search_path and
-- after its sequence is renamed or moved, and pg_get_expr prints each name
-- bare only where it is visible.
CREATE SCHEMA bd;
CREATE SEQUENCE bd_free;
CREATE TABLE bd_st (id serial PRIMARY KEY, v int);
CREATE TABLE bd.st2 (id serial PRIMARY KEY, v int);
CREATE TABLE bd_ud (id int DEFAULT nextval('bd_free'), r regclass DEFAULT 'bd_st'::regclass,
  q bigint DEFAULT nextval('bd.st2_id_seq'::regclass), c bigint DEFAULT currval('bd_free'));
SELECT attrelid::regclass, attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  WHERE attrelid::regclass::text LIKE '%bd%' ORDER BY 1, 2;
SET search_path = '';
SELECT attrelid::regclass, attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d
  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  WHERE attrelid::regclass::text LIKE '%bd%' ORDER BY 1, 2;
INSERT INTO public.bd_st (v) VALUES (1);
INSERT INTO bd.st2 (v) VALUES (1);
INSERT INTO public.bd_ud (r) VALUES (NULL);
ALTER TABLE public.bd_ud ALTER COLUMN c SET DEFAULT nextval('public.bd_free');
RESET search_path;
ALTER SEQUENCE bd_st_id_seq RENAME TO bd_st_renamed;
ALTER SEQUENCE bd_free SET SCHEMA bd;
INSERT INTO bd_st (v) VALUES (2);
INSERT INTO bd_ud DEFAULT VALUES;
SELECT * FROM bd_st ORDER BY 1;
SELECT * FROM bd_ud ORDER BY 1;
\d bd_st
\d bd_ud
SELECT table_name, column_name, column_default FROM information_schema.columns
  WHERE table_name IN ('bd_st', 'bd_ud', 'st2') ORDER BY 1, 2;
SELECT pg_get_serial_sequence('bd_st', 'id');
-- a table moved to another schema takes the sequences it owns along
ALTER TABLE bd_st SET SCHEMA bd;
INSERT INTO bd.bd_st (v) VALUES (3);
SELECT * FROM bd.bd_st ORDER BY 1;
\d bd.bd_st
SELECT relname, relnamespace::regnamespace FROM pg_class WHERE relname LIKE 'bd_%' ORDER BY 1;
CREATE TABLE bd.bd_clash (id serial);
ALTER TABLE bd.bd_clash SET SCHEMA public;
ALTER SEQUENCE bd.bd_free SET SCHEMA nowhere;
CREATE TABLE bd.bd_ud (id int);
ALTER TABLE bd.bd_ud SET SCHEMA public;
-- a default that calls nextval depends on its sequence, as a serial column's does
CREATE SEQUENCE bd_dep;
CREATE TABLE bd_dt (a int DEFAULT nextval('bd_dep'), b serial);
DROP SEQUENCE bd_dep;
DROP SEQUENCE bd_dt_b_seq;
DROP SEQUENCE bd_dep CASCADE;
DROP SEQUENCE bd_dt_b_seq CASCADE;
\d bd_dt
CREATE TABLE bd_sys (r regclass DEFAULT 'pg_class'::regclass);
\d bd_sys
