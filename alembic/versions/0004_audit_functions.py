"""audit functions on PostgreSQL

The functions ``cachedb sql`` offers (docs/schema.md), as SQL functions of the
database, so the documented queries run on PostgreSQL as they do on SQLite
(where ``cachedb sql`` registers them on its connection): ``human_bytes``,
``canonical_name``, ``version_cmp``, ``version_in`` (PEP 440, pre-releases
included; boolean here, so ``WHERE version_in(...)`` reads as on SQLite, and 1 or 0
in ``cachedb sql``'s output), ``unixepoch()`` (SQLite has it built in) and ``group_concat``.
Nothing changes on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PEP 440's version grammar (any spelling it accepts), as a PostgreSQL regular expression
# on the lower-cased text. Groups: 1 epoch, 2 release, 3 pre letter, 4 pre number,
# 5 implicit post number, 6 post letter, 7 post number, 8 dev, 9 dev number, 10 local.
_VERSION_RE = (
    r"^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)"
    r"(?:[-_.]?(alpha|beta|preview|pre|rc|a|b|c)[-_.]?(\d+)?)?"
    r"(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?"
    r"(?:[-_.]?(dev)[-_.]?(\d+)?)?"
    r"(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$"
)

# Statements are run with exec_driver_sql, so nothing in them is taken for a :parameter.
FUNCTIONS = [
    """
CREATE FUNCTION human_bytes(n numeric) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    size numeric := n;
    units text[] := ARRAY['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    unit text;
BEGIN
    IF n IS NULL THEN RETURN NULL; END IF;
    IF abs(size) < 1024 THEN RETURN trunc(size)::bigint || ' B'; END IF;
    FOREACH unit IN ARRAY units LOOP
        size := size / 1024;
        EXIT WHEN abs(size) < 1024 OR unit = 'PiB';
    END LOOP;
    RETURN to_char(size, 'FM999999999999990.0') || ' ' || unit;
END $$
""",
    """
CREATE FUNCTION human_bytes(n double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT human_bytes(n::numeric) $$
""",
    """
CREATE FUNCTION canonical_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT lower(regexp_replace(name, '[-_.]+', '-', 'g')) $$
""",
    """
CREATE FUNCTION unixepoch() RETURNS double precision
LANGUAGE sql STABLE AS $$ SELECT extract(epoch FROM now())::double precision $$
""",
    """
CREATE FUNCTION _cachedb_concat(state text, value text, sep text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN state
                WHEN state IS NULL THEN value
                ELSE state || sep || value END
$$
""",
    """
CREATE FUNCTION _cachedb_concat(state text, value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT _cachedb_concat(state, value, ',') $$
""",
    "CREATE AGGREGATE group_concat(text, text) (SFUNC = _cachedb_concat, STYPE = text)",
    "CREATE AGGREGATE group_concat(text) (SFUNC = _cachedb_concat, STYPE = text)",
    # The parts of a version that order it, as packaging orders them; NULL if invalid.
    # [epoch, 16 release numbers (trailing zeros dropped, then padded), pre phase
    # (0 dev-only release, 1 a, 2 b, 3 rc, 4 none), pre number, post present, post
    # number, dev absent, dev number].
    f"""
CREATE FUNCTION _cachedb_version_key(v text) RETURNS numeric[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[];
    rel numeric[];
    pre_phase numeric := 4;
    pre_num numeric := 0;
    post_has numeric := 0;
    post_num numeric := 0;
    dev_absent numeric := 1;
    dev_num numeric := 0;
BEGIN
    IF v IS NULL THEN RETURN NULL; END IF;
    m := regexp_match(lower(v), '{_VERSION_RE}');
    IF m IS NULL THEN RETURN NULL; END IF;
    rel := string_to_array(m[2], '.')::numeric[];
    WHILE array_length(rel, 1) > 1 AND rel[array_length(rel, 1)] = 0 LOOP
        rel := rel[1:array_length(rel, 1) - 1];
    END LOOP;
    IF array_length(rel, 1) > 16 THEN RETURN NULL; END IF;
    WHILE array_length(rel, 1) < 16 LOOP rel := rel || 0::numeric; END LOOP;
    IF m[3] IS NOT NULL THEN
        pre_phase := CASE WHEN m[3] IN ('a', 'alpha') THEN 1
                          WHEN m[3] IN ('b', 'beta') THEN 2 ELSE 3 END;
        pre_num := coalesce(m[4]::numeric, 0);
    END IF;
    IF m[5] IS NOT NULL THEN
        post_has := 1; post_num := m[5]::numeric;
    ELSIF m[6] IS NOT NULL THEN
        post_has := 1; post_num := coalesce(m[7]::numeric, 0);
    END IF;
    IF m[8] IS NOT NULL THEN
        dev_absent := 0; dev_num := coalesce(m[9]::numeric, 0);
        IF m[3] IS NULL AND post_has = 0 THEN pre_phase := 0; END IF;
    END IF;
    RETURN ARRAY[coalesce(m[1]::numeric, 0)] || rel
        || ARRAY[pre_phase, pre_num, post_has, post_num, dev_absent, dev_num];
END $$
""",
    f"""
CREATE FUNCTION _cachedb_version_local(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (regexp_match(lower(v), '{_VERSION_RE}'))[10]
$$
""",
    # The normal form of a version, as packaging prints it (lower case).
    f"""
CREATE FUNCTION _cachedb_version_norm(v text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[] := regexp_match(lower(v), '{_VERSION_RE}');
    out text := '';
BEGIN
    IF m IS NULL THEN RETURN NULL; END IF;
    IF coalesce(m[1]::numeric, 0) <> 0 THEN out := m[1]::numeric || '!'; END IF;
    out := out || array_to_string(string_to_array(m[2], '.')::numeric[], '.');
    IF m[3] IS NOT NULL THEN
        out := out || CASE WHEN m[3] IN ('a', 'alpha') THEN 'a'
                           WHEN m[3] IN ('b', 'beta') THEN 'b' ELSE 'rc' END
                   || coalesce(m[4]::numeric, 0);
    END IF;
    IF m[5] IS NOT NULL OR m[6] IS NOT NULL THEN
        out := out || '.post' || coalesce(m[5]::numeric, m[7]::numeric, 0);
    END IF;
    IF m[8] IS NOT NULL THEN out := out || '.dev' || coalesce(m[9]::numeric, 0); END IF;
    IF m[10] IS NOT NULL THEN out := out || '+' || regexp_replace(m[10], '[-_]', '.', 'g'); END IF;
    RETURN out;
END $$
""",
    """
CREATE FUNCTION _cachedb_local_key(loc text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    -- Numeric segments sort after alphanumeric ones, and by value (zero-padded).
    SELECT array_agg(CASE WHEN s ~ '^[0-9]+$' THEN '1' || lpad(ltrim(s, '0'), 40, '0')
                          ELSE '0' || s END ORDER BY i)
      FROM unnest(regexp_split_to_array(loc, '[-_.]')) WITH ORDINALITY AS t(s, i)
$$
""",
    """
CREATE FUNCTION version_cmp(a text, b text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    ka numeric[] := _cachedb_version_key(a);
    kb numeric[] := _cachedb_version_key(b);
    la text[] := _cachedb_local_key(_cachedb_version_local(a));
    lb text[] := _cachedb_local_key(_cachedb_version_local(b));
BEGIN
    IF ka IS NULL OR kb IS NULL THEN RETURN NULL; END IF;
    IF ka < kb THEN RETURN -1; END IF;
    IF ka > kb THEN RETURN 1; END IF;
    IF la IS NULL AND lb IS NULL THEN RETURN 0; END IF;
    IF la IS NULL THEN RETURN -1; END IF;
    IF lb IS NULL THEN RETURN 1; END IF;
    RETURN CASE WHEN la < lb THEN -1 WHEN la > lb THEN 1 ELSE 0 END;
END $$
""",
    # One clause of a specifier set: 1, 0, or NULL when the clause is invalid.
    f"""
CREATE FUNCTION _cachedb_clause_in(v text, clause text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[];
    op text;
    target text;
    kv numeric[];
    kt numeric[];
    pv text[];
    pt text[];
    public_v text;
    prefix text;
    n integer;
BEGIN
    m := regexp_match(clause, '^\\s*(~=|===|==|!=|<=|>=|<|>)\\s*(\\S+)\\s*$');
    IF m IS NULL THEN RETURN NULL; END IF;
    op := m[1];
    target := m[2];
    IF op = '===' THEN RETURN (_cachedb_version_norm(v) = lower(target))::integer; END IF;
    public_v := split_part(v, '+', 1);
    IF op IN ('==', '!=') AND right(target, 2) = '.*' THEN
        prefix := left(target, -2);
        kt := _cachedb_version_key(prefix);
        IF kt IS NULL OR _cachedb_version_local(prefix) IS NOT NULL THEN RETURN NULL; END IF;
        pv := regexp_match(lower(public_v), '{_VERSION_RE}');
        pt := regexp_match(lower(prefix), '{_VERSION_RE}');
        IF pv IS NULL THEN RETURN NULL; END IF;
        IF pt[3] IS NOT NULL OR pt[5] IS NOT NULL OR pt[6] IS NOT NULL OR pt[8] IS NOT NULL THEN
            RETURN NULL;  -- a wildcard goes after the release numbers only
        ELSE
            n := (coalesce(pv[1], '0')::numeric = coalesce(pt[1], '0')::numeric
                  AND (string_to_array(pv[2], '.')::numeric[]
                       || array_fill(0::numeric, ARRAY[array_length(
                              string_to_array(pt[2], '.'), 1)]))
                      [1:array_length(string_to_array(pt[2], '.'), 1)]
                      = string_to_array(pt[2], '.')::numeric[])::integer;
        END IF;
        RETURN CASE WHEN op = '==' THEN n ELSE 1 - n END;
    END IF;
    kt := _cachedb_version_key(target);
    kv := _cachedb_version_key(v);
    IF kt IS NULL OR kv IS NULL THEN RETURN NULL; END IF;
    IF op = '==' OR op = '!=' THEN
        IF _cachedb_version_local(target) IS NOT NULL THEN
            n := (version_cmp(v, target) = 0)::integer;
        ELSE
            n := (version_cmp(public_v, target) = 0)::integer;
        END IF;
        RETURN CASE WHEN op = '==' THEN n ELSE 1 - n END;
    END IF;
    IF _cachedb_version_local(target) IS NOT NULL THEN RETURN NULL; END IF;
    IF op = '<=' THEN RETURN (version_cmp(public_v, target) <= 0)::integer; END IF;
    IF op = '>=' THEN RETURN (version_cmp(public_v, target) >= 0)::integer; END IF;
    IF op = '<' THEN
        IF NOT (version_cmp(public_v, target) < 0) THEN RETURN 0; END IF;
        -- <V does not take pre-releases of V itself unless V is one.
        IF kt[18] = 4 AND kt[22] = 1 AND (kv[18] <> 4 OR kv[22] = 0)
           AND kv[1:17] = kt[1:17] THEN RETURN 0; END IF;
        RETURN 1;
    END IF;
    IF op = '>' THEN
        IF NOT (version_cmp(public_v, target) > 0) THEN RETURN 0; END IF;
        -- >V takes neither post-releases of V (unless V is one) nor V's local versions.
        IF kt[20] = 0 AND kv[20] = 1 AND kv[1:17] = kt[1:17] THEN RETURN 0; END IF;
        IF _cachedb_version_local(v) IS NOT NULL AND kv[1:17] = kt[1:17] THEN RETURN 0; END IF;
        RETURN 1;
    END IF;
    -- ~=V: >=V and ==P.* where P is V's release without its last number.
    IF _cachedb_version_local(target) IS NOT NULL THEN RETURN NULL; END IF;
    pt := regexp_match(lower(target), '{_VERSION_RE}');
    IF array_length(string_to_array(pt[2], '.'), 1) < 2 THEN RETURN NULL; END IF;
    prefix := coalesce(pt[1] || '!', '') || array_to_string(
        (string_to_array(pt[2], '.'))[1:array_length(string_to_array(pt[2], '.'), 1) - 1], '.');
    IF NOT (version_cmp(public_v, target) >= 0) THEN RETURN 0; END IF;
    RETURN _cachedb_clause_in(v, '==' || prefix || '.*');
END $$
""",
    """
CREATE FUNCTION version_in(v text, spec text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    clause text;
    answer integer := 1;
    one integer;
BEGIN
    IF v IS NULL OR spec IS NULL OR _cachedb_version_key(v) IS NULL THEN RETURN NULL; END IF;
    IF trim(spec) = '' THEN RETURN true; END IF;
    FOREACH clause IN ARRAY string_to_array(spec, ',') LOOP
        CONTINUE WHEN trim(clause) = '';
        one := _cachedb_clause_in(v, clause);
        IF one IS NULL THEN RETURN NULL; END IF;
        answer := least(answer, one);
    END LOOP;
    RETURN answer = 1;
END $$
""",
]

DROPS = [
    "DROP FUNCTION IF EXISTS version_in(text, text)",
    "DROP FUNCTION IF EXISTS _cachedb_clause_in(text, text)",
    "DROP FUNCTION IF EXISTS version_cmp(text, text)",
    "DROP FUNCTION IF EXISTS _cachedb_local_key(text)",
    "DROP FUNCTION IF EXISTS _cachedb_version_norm(text)",
    "DROP FUNCTION IF EXISTS _cachedb_version_local(text)",
    "DROP FUNCTION IF EXISTS _cachedb_version_key(text)",
    "DROP AGGREGATE IF EXISTS group_concat(text)",
    "DROP AGGREGATE IF EXISTS group_concat(text, text)",
    "DROP FUNCTION IF EXISTS _cachedb_concat(text, text)",
    "DROP FUNCTION IF EXISTS _cachedb_concat(text, text, text)",
    "DROP FUNCTION IF EXISTS unixepoch()",
    "DROP FUNCTION IF EXISTS canonical_name(text)",
    "DROP FUNCTION IF EXISTS human_bytes(double precision)",
    "DROP FUNCTION IF EXISTS human_bytes(numeric)",
]


def _run(statements: list[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in statements:
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    _run(FUNCTIONS)


def downgrade() -> None:
    _run(DROPS)
