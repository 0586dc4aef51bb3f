-- A table ($table) that has no files in any current run yet (a table added to the registry since): its
-- declared columns, no rows.
select $typed_nulls
where false
