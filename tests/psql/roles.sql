-- The one role (the suite runs as "postgres" on both servers): what
-- pg_dumpall writes for it behaves as on a PostgreSQL cluster where the role
-- exists (CREATE fails, ALTER restating its attributes succeeds).
CREATE ROLE postgres;
CREATE USER postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
ALTER ROLE CURRENT_USER WITH LOGIN;
ALTER USER postgres LOGIN CONNECTION LIMIT -1;
ALTER ROLE nobody WITH LOGIN;
-- a missing name, sent without ';' (with one PostgreSQL says 'at or near ";"',
-- where AionDB's hand-parsed utility statements all say 'at end of input')
CREATE ROLE \g
ALTER USER \g
\du
