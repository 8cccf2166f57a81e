-- Listings of databases, roles, extensions, functions, types and settings,
-- limited by patterns to what both servers have.
CREATE TABLE t (id int PRIMARY KEY, payload text);
\l psql_catalogs
\du
\dg
\du postgres
\dx plpgsql
\dL
\dT
\dT+
\dT bigint
\dT int2vector
\dT+ text
\dT jsonb
\dD
\df
\df now
\df pg_get_expr
\sf now
\do
\dc
\dy
\db
\dd
\dd t
\dRp
\dRs
\drds
\des
\dew
\det
\dX
\dP
\dconfig search_path
SET search_path = public, pg_catalog;
\dconfig search_path
-- catalog tables: same columns; PostgreSQL's catalog indexes are its own
\pset tuples_only on
\dS pg_namespace
\d pg_catalog.pg_am
\pset tuples_only off
\conninfo
SELECT id, payload, now() AS ts, id + 1.5 AS x FROM t \gdesc
SELECT 1 AS one, 'x'::varchar(5) AS v, NULL::date AS d \gdesc
\x on
\d t
\x off
\dv pg_catalog.pg_tables
\dt pg_catalog.pg_class
