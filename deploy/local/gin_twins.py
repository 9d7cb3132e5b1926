"""The GIN twins: indexes PostgreSQL can use for the filters FerretDB sends.

FerretDB filters a top-level field as `_jsonb->'f' @> '"v"'`, but creates its indexes as
btree on `((_jsonb->'f'))`, which cannot answer `@>`: every lookup is a sequential scan. An
event trigger gives each btree index FerretDB creates on a collection a GIN twin on the same
top-level fields with jsonb_path_ops, which answers exactly `@>`; FerretDB's own index stays
(it enforces `unique`). Dropping FerretDB's index drops its twin. The functions live in a
schema FerretDB cannot use as a database (a `$` is not allowed in database names), so no
MongoDB dropDatabase takes them away.

`Postgres.setup` (deploy/local/postgres.py) runs TWIN_SQL at every start, in one transaction;
it is idempotent and adds the twins an older data folder is missing.
"""

from __future__ import annotations

TWIN_SCHEMA = "gonghui$storage"

TWIN_SQL = r"""
CREATE SCHEMA IF NOT EXISTS "gonghui$storage";
COMMENT ON SCHEMA "gonghui$storage" IS
  'Gonghui: GIN twins for FerretDB indexes (deploy/local/gin_twins.py)';

-- FerretDB names its indexes <table>_<index>_<hash>_idx (at most 62 characters); a twin's name
-- keeps the readable start and ends in _gin, which FerretDB never generates.
CREATE OR REPLACE FUNCTION "gonghui$storage".twin_name(index_name name) RETURNS name
LANGUAGE sql IMMUTABLE AS $$
  SELECT (left(index_name, 50) || '_' || left(md5(index_name), 8) || '_gin')::name
$$;

-- Adds the GIN twin of one index if it is a btree index FerretDB made on a collection and has
-- at least one top-level field; returns the twin's name when it created one.
CREATE OR REPLACE FUNCTION "gonghui$storage".add_twin(index_oid oid) RETURNS name
LANGUAGE plpgsql AS $$
DECLARE
  ix pg_index;
  ix_name name;
  ix_am name;
  tbl name;
  nsp name;
  twin name;
  field text;
  cols text[] := '{}';
BEGIN
  SELECT * INTO ix FROM pg_index WHERE indexrelid = index_oid;
  IF NOT FOUND OR ix.indpred IS NOT NULL THEN
    RETURN NULL;
  END IF;
  SELECT c.relname, a.amname INTO ix_name, ix_am
    FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = index_oid;
  SELECT c.relname, n.nspname INTO tbl, nsp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ix.indrelid;
  IF ix_am <> 'btree' OR ix_name LIKE '%\_gin' OR tbl = '_ferretdb_database_metadata'
     OR to_regclass(format('%I._ferretdb_database_metadata', nsp)) IS NULL THEN
    RETURN NULL;  -- not FerretDB's, not a collection, or a twin itself (no recursion)
  END IF;
  twin := "gonghui$storage".twin_name(ix_name);
  IF to_regclass(format('%I.%I', nsp, twin)) IS NOT NULL THEN
    RETURN NULL;
  END IF;
  FOR k IN 1 .. ix.indnkeyatts LOOP
    -- A top-level field reads `(_jsonb -> 'staff_no'::text)`. Dotted paths are left out:
    -- FerretDB does not push them down (its nested pushdown is off by default).
    field := substring(pg_get_indexdef(index_oid, k, true)
                       FROM '^\(+_jsonb -> ''((?:[^'']|'''')*)''::text\)+$');
    IF field IS NOT NULL THEN
      cols := cols || format('(_jsonb -> %L) jsonb_path_ops', replace(field, '''''', ''''));
    END IF;
  END LOOP;
  IF cardinality(cols) = 0 THEN
    RETURN NULL;
  END IF;
  -- fastupdate off: a pending list would make every lookup scan it until the next vacuum
  -- (measured at 50,000 documents: p50 3 ms instead of 1 ms after a bulk load), and inserts
  -- were no slower without it.
  EXECUTE format('CREATE INDEX %I ON %I.%I USING gin (%s) WITH (fastupdate = off)',
                 twin, nsp, tbl, array_to_string(cols, ', '));
  EXECUTE format('COMMENT ON INDEX %I.%I IS %L', nsp, twin,
                 format('GIN twin of %s: serves FerretDB''s @> filters (Gonghui)', ix_name));
  RETURN twin;
EXCEPTION WHEN OTHERS THEN
  -- Never fail FerretDB's own command because of a twin: the index is an optimisation.
  RAISE WARNING 'gonghui: no GIN twin for index %: %', index_oid, SQLERRM;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION "gonghui$storage".on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    PERFORM "gonghui$storage".add_twin(cmd.objid);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION "gonghui$storage".on_drop_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  obj record;
  twin name;
BEGIN
  -- Only indexes dropped by name (FerretDB's dropIndexes); a dropped collection or database
  -- takes its twins with it.
  FOR obj IN SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'index' AND original AND object_name NOT LIKE '%\_gin' LOOP
    twin := "gonghui$storage".twin_name(obj.object_name);
    IF to_regclass(format('%I.%I', obj.schema_name, twin)) IS NOT NULL THEN
      EXECUTE format('DROP INDEX %I.%I', obj.schema_name, twin);
    END IF;
  END LOOP;
END
$$;

-- Twins for indexes made before the trigger existed (a data folder from an earlier version).
CREATE OR REPLACE FUNCTION "gonghui$storage".add_missing_twins() RETURNS integer
LANGUAGE sql AS $$
  SELECT count(t)::integer FROM (
    SELECT "gonghui$storage".add_twin(i.indexrelid) AS t
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace IN (SELECT relnamespace FROM pg_class
                             WHERE relname = '_ferretdb_database_metadata')
  ) added
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'gonghui_gin_twin_create') THEN
    CREATE EVENT TRIGGER gonghui_gin_twin_create ON ddl_command_end
      WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION "gonghui$storage".on_create_index();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'gonghui_gin_twin_drop') THEN
    CREATE EVENT TRIGGER gonghui_gin_twin_drop ON sql_drop
      WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION "gonghui$storage".on_drop_index();
  END IF;
END
$$;

SELECT 'twins added: ' || "gonghui$storage".add_missing_twins();
"""
