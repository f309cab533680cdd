-- An issue has a stop time and a non-negative duration exactly when it is no longer open.
select *
from {{ ref('fct_issue') }}
where (status = 'open') != (stopped_at is null)
    or (stopped_at is null) != (duration_s is null)
    or duration_s < 0
