-- How defaults, CHECK constraints, foreign keys and views read back: AionDB
-- must print them as PostgreSQL 15's ruleutils.c does (implicit casts,
-- typed literals, parentheses, view layout).
CREATE TABLE exprs (
  id int PRIMARY KEY,
  a int DEFAULT -1,
  b bigint DEFAULT 10000000000,
  c numeric DEFAULT 1.5,
  d numeric(5,2) DEFAULT 0,
  e text DEFAULT 'hello',
  f varchar(20) DEFAULT 'x' CHECK (f <> ''),
  g char(2) DEFAULT 'ab',
  h boolean DEFAULT false,
  i date DEFAULT CURRENT_DATE,
  j timestamp DEFAULT now(),
  k timestamptz DEFAULT CURRENT_TIMESTAMP,
  l double precision DEFAULT 2.5 CHECK (l > 0),
  m real CHECK (m < 100),
  n text DEFAULT NULL,
  o jsonb DEFAULT '{}',
  p text[] DEFAULT '{}',
  q int CHECK (q BETWEEN 1 AND 10),
  r text CHECK (r IN ('x', 'y', 'z')),
  s int CHECK (s IS NOT NULL AND s % 2 = 0),
  t text CHECK (length(t) > 2 OR t IS NULL),
  u text CHECK (u LIKE 'a%'),
  v int DEFAULT (1 + 2) * 3,
  w interval DEFAULT '1 day',
  x uuid DEFAULT gen_random_uuid(),
  y text DEFAULT lower('ABC'),
  z varchar(10) CHECK (z IN ('p', 'q')),
  aa int CHECK (aa > 0 AND aa < 100 AND aa <> 50),
  bb numeric CHECK (bb > 0.5),
  cc text DEFAULT current_user,
  dd int CHECK (NOT (dd = 3)),
  ee date CHECK (ee > '2020-01-01'),
  ff text CHECK (ff ~ '^[a-z]+$'),
  gg int CHECK (gg = ANY (ARRAY[1, 2])),
  hh text DEFAULT 'it''s',
  ii int CHECK (ii IS DISTINCT FROM 5),
  jj text CHECK (coalesce(jj, '') <> 'bad'),
  kk int CHECK (CASE WHEN kk > 0 THEN true ELSE false END),
  ll text CHECK (upper(ll) = ll),
  mm bigint CHECK (mm > 0),
  nn smallint CHECK (nn > 0),
  oo timestamp CHECK (oo < now()),
  CONSTRAINT two_cols CHECK (a < v)
);
CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE);
CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent ON UPDATE CASCADE, code text, FOREIGN KEY (code) REFERENCES parent (code) ON DELETE SET NULL);
CREATE VIEW v1 AS SELECT id, a + 1 AS a1, e || '!' AS e1, upper(e) AS up FROM exprs WHERE h AND c > 1;
CREATE VIEW v2 AS SELECT c.id, p.code, count(*) AS n FROM child c JOIN parent p ON p.id = c.pid GROUP BY c.id, p.code HAVING count(*) > 0 ORDER BY c.id DESC LIMIT 10;
CREATE VIEW v3 AS SELECT * FROM parent;
CREATE VIEW v4 AS SELECT id, CASE WHEN id > 10 THEN 'big' WHEN id > 5 THEN 'mid' ELSE 'small' END AS size FROM parent;
CREATE VIEW v5 AS SELECT p.id, c.id AS cid FROM parent p LEFT JOIN child c ON c.pid = p.id WHERE c.id IS NULL;
CREATE VIEW v6 AS SELECT DISTINCT code FROM parent WHERE code IN ('a', 'b') ORDER BY code;
CREATE VIEW v7 AS SELECT id, coalesce(code, 'none') AS code, 42 AS answer, 'lit' AS lit, now() AS ts FROM parent;
CREATE VIEW v8 AS SELECT e.id, e.a * 2 + 1 AS calc, -e.a AS neg, e.c / 2 AS half, e.e || e.f AS cat, e.q BETWEEN 2 AND 3 AS btw, e.r NOT IN ('x', 'y') AS notin, e.s IS NULL AS isnull, e.l + e.a AS mixed FROM exprs e WHERE e.id > 0 AND (e.h OR e.i < CURRENT_DATE);
\d exprs
\d+ exprs
\d parent
\d child
\d+ v1
\d+ v2
\d+ v3
\d+ v4
\d+ v5
\d+ v6
\d+ v7
\d+ v8
SELECT pg_get_viewdef('v2'::regclass);
SELECT pg_get_viewdef('v8'::regclass, true);
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'exprs'::regclass AND contype = 'c' ORDER BY conname;
SELECT attname, pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute ON attrelid = adrelid AND attnum = adnum WHERE adrelid = 'exprs'::regclass ORDER BY adnum;
SELECT conname, pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'child'::regclass ORDER BY conname;
-- set operations, subqueries, grouping and ordering in views
CREATE TABLE sa (id int PRIMARY KEY, name text, grp int);
CREATE TABLE sb (x int, y text, aid int);
CREATE VIEW u1 AS SELECT id FROM sa UNION SELECT x FROM sb;
CREATE VIEW u2 AS SELECT id, name FROM sa UNION ALL SELECT x, y FROM sb UNION ALL SELECT 1, 'one';
CREATE VIEW u3 AS SELECT id FROM sa EXCEPT SELECT x FROM sb ORDER BY 1;
CREATE VIEW u4 AS SELECT id FROM sa UNION SELECT x FROM sb INTERSECT SELECT aid FROM sb;
CREATE VIEW s1 AS SELECT id FROM sa WHERE EXISTS (SELECT 1 FROM sb WHERE sb.aid = sa.id);
CREATE VIEW s2 AS SELECT id FROM sa WHERE id IN (SELECT aid FROM sb WHERE y <> 'q');
CREATE VIEW s3 AS SELECT id, (SELECT max(x) FROM sb) AS mx FROM sa;
CREATE VIEW s4 AS SELECT id FROM sa WHERE id NOT IN (SELECT aid FROM sb) AND name IS NOT NULL;
CREATE VIEW g1 AS SELECT grp, count(*) AS n, sum(id) AS total, lower(name) AS ln FROM sa GROUP BY grp, lower(name) ORDER BY lower(name), 2 DESC;
CREATE VIEW g2 AS SELECT DISTINCT grp FROM sa ORDER BY grp LIMIT 5 OFFSET 1;
\d+ u1
\d+ u2
\d+ u3
\d+ u4
\d+ s1
\d+ s2
\d+ s3
\d+ s4
\d+ g1
\d+ g2
SELECT pg_get_viewdef('u2'::regclass), pg_get_viewdef('s1'::regclass), pg_get_viewdef('g1'::regclass);
-- window functions, derived tables, comma joins, SQL-syntax functions
CREATE TABLE wa (id int PRIMARY KEY, name text, grp int, price numeric(8,2), at timestamptz);
CREATE VIEW w1 AS SELECT id, row_number() OVER (PARTITION BY grp ORDER BY id) AS rn FROM wa;
CREATE VIEW w2 AS SELECT id, sum(price) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running, rank() OVER () AS r FROM wa;
CREATE VIEW d1 AS SELECT q.id FROM (SELECT id FROM wa WHERE grp > 1) q;
CREATE VIEW x1 AS SELECT id::text AS sid, price * 1.1 AS p2, extract(year from at) AS y, date_trunc('day', at) AS d, substring(name from 1 for 3) AS s3, name LIKE 'a%' AS l, at > now() - interval '1 day' AS recent FROM wa;
CREATE VIEW x2 AS SELECT wa.id, b.id AS bid FROM wa, wa b WHERE wa.grp = b.grp;
CREATE VIEW x3 AS SELECT count(*) FILTER (WHERE grp = 1) AS n1, count(DISTINCT grp) AS n2, max(grp) AS mg FROM wa;
CREATE VIEW x4 AS SELECT id, CASE grp WHEN 1 THEN 'one' WHEN 2 THEN 'two' END AS g FROM wa;
\d+ w1
\d+ w2
\d+ d1
\d+ x1
\d+ x2
\d+ x3
\d+ x4
