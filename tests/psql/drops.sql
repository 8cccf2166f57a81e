-- DROP of several objects, dependencies and CASCADE: the errors (wording, DETAIL
-- lines) and notices are PostgreSQL's.
CREATE TABLE dt (x int);
CREATE VIEW dv1 AS SELECT x FROM dt;
CREATE VIEW dv2 AS SELECT x FROM dv1;
CREATE VIEW dv3 AS SELECT x FROM dv2;
DROP VIEW dv1, dv2;
DROP VIEW dv2;
DROP TABLE dt;
DROP VIEW dv3, dv2;
DROP TABLE dt CASCADE;
CREATE TABLE da (id int PRIMARY KEY);
CREATE TABLE db (id int PRIMARY KEY, a int REFERENCES da);
CREATE TABLE dc (id int PRIMARY KEY, b int REFERENCES db);
DROP TABLE da, db;
DROP TABLE da CASCADE;
DROP TABLE IF EXISTS db, dmissing, dc;
\dt d*
\dv dv*
