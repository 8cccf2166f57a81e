-- Quoted and reserved names, composite keys, self-references, sequence options.
CREATE TABLE "MixedCase" ("Col" int PRIMARY KEY, "select" text DEFAULT 'x', "two words" int CHECK ("two words" > 0));
CREATE TABLE "user" (id int, "order" int);
CREATE VIEW "V" AS SELECT "Col", "select" AS "Sel" FROM "MixedCase";
CREATE INDEX "Idx" ON "MixedCase" ("two words");
CREATE TABLE ref2 (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE fk2 (x int, y int, FOREIGN KEY (x, y) REFERENCES ref2 (a, b) ON DELETE RESTRICT);
CREATE TABLE selfref (id int PRIMARY KEY, parent int REFERENCES selfref (id));
CREATE SEQUENCE s2 AS integer INCREMENT BY -1 MINVALUE -100 MAXVALUE 0 START -1 CYCLE CACHE 10;
\d "MixedCase"
\d+ "V"
\d "Idx"
\d "user"
\d fk2
\d ref2
\d selfref
\d s2
\ds
