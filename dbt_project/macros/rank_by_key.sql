{#- Every row of `relation` in the partition window with `duplicate_rank`: its rank among the
    rows sharing `key` (a list of columns), by `order_by`. Rank 1 is the row kept; the others are
    held back (int_duplicate_records_unioned).

    Only a key held more than once needs a rank. Such keys are found by grouping one 64-bit hash
    of the key (a hash aggregate, no sort, about half the cost of grouping by the key's columns);
    only the rows of a hash held more than once are ranked, by the key itself, and every other
    row is rank 1. Rows of one key share its hash, so no duplicate is missed; a hash shared by
    chance only ranks a few more rows, each first of its own key. Ranking every row sorted the
    whole history.

    The partition window of an incremental run (none outside one: every day) applies before the
    grouping: a scheduled day searches only its days. `relation` has a `partition_date` column. -#}
{% macro rank_by_key(relation, key, order_by) -%}
with keyed as (
    select
        *,
        hash({{ key | join(', ') }}) as key_hash
    from {{ relation }}
    where {{ in_partition_window('partition_date') }}
),

shared_hashes as (
    select key_hash from keyed
    group by key_hash
    having count(*) > 1
),

single_rows as (
    select
        k.* exclude (key_hash),
        cast(1 as bigint) as duplicate_rank
    from keyed as k
    anti join shared_hashes as s on k.key_hash = s.key_hash
),

ranked_rows as (
    select
        k.* exclude (key_hash),
        row_number() over (partition by {{ key | join(', ') }} order by {{ order_by }}) as duplicate_rank
    from keyed as k
    semi join shared_hashes as s on k.key_hash = s.key_hash
)

select * from single_rows
union all
select * from ranked_rows
{%- endmacro %}
