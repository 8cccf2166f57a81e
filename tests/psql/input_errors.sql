-- A literal that is no value of its type: PostgreSQL points at it (LINE 1
-- and the caret), in casts, comparisons, INSERT VALUES and UPDATE SET; a
-- month or day no calendar has also hints at datestyle.
CREATE TABLE pt (id int, d date, n numeric(4,1), b boolean);
INSERT INTO pt VALUES (1, '2020-13-45', 1, true);
INSERT INTO pt VALUES ('x', '2020-01-01', 1, true);
INSERT INTO pt VALUES (1, '2020-01-01', 1, 'maybe');
INSERT INTO pt (id, d) VALUES (99999999999, '2020-01-01');
SELECT 'x'::int;
SELECT 1 + 'abc'::int;
SELECT * FROM pt WHERE d = 'tomorrowish';
SELECT '1/1/1'::pg_lsn;
UPDATE pt SET n = 'NaNx' WHERE id = 1;
UPDATE pt SET b = 'perhaps';
SELECT 1; SELECT 'x'::int;
SELECT 'nosuch'::regclass;
SELECT CAST('q' AS boolean);
SELECT '{1,2'::int[];
SELECT 1 WHERE 'x'::int = 1;
SELECT 'abc'::uuid;
SELECT '2020-02-30'::date;
SELECT '2020-01-32'::date;
SELECT '2020-00-01'::date;
SELECT '13/01/2020'::date;
PREPARE p1 AS SELECT 'x'::int;
\d pt
PREPARE p2 AS SELEC 1;
PREPARE p3 AS SELECT nosuchcol;
CREATE VIEW pv AS SELECT 'x'::int AS a;
CREATE MATERIALIZED VIEW pm AS SELECT 'y'::int AS a;
CREATE TABLE pt2 AS SELECT '2020-13-01'::date AS d;
-- ARRAY[...]::type[]: the elements take the element type
SELECT ARRAY['a','b']::int[];
SELECT ARRAY['1','2']::int[], pg_typeof(ARRAY['1','2']::int[]);
SELECT ARRAY[1.5, 2.5]::int[];
SELECT ARRAY['1.5']::int[];
SELECT ARRAY['2020-01-01', '2020-13-01']::date[];
SELECT ARRAY[1, 2]::text[];
SELECT ARRAY['x', NULL]::varchar(1)[];
SELECT ARRAY['xy']::varchar(1)[];
SELECT ARRAY[ARRAY['1'], ARRAY['2']]::int[];
-- an unknown type in a cast, a prefix operator on TRUE / NULL
SELECT 1::nosuchtype;
SELECT cast('x' AS nosuch);
SELECT 'a'::text, 2::nosuch.typ;
SELECT 2::public.nosuch;
SELECT 2::"My S".typ;
SELECT ARRAY[1]::nosuchtype[];
SELECT - true;
SELECT 1 + - false;
SELECT -'abc'::text;
SELECT ~ true;
\echo done
