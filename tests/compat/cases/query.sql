-- sqlite3: a file database, recursive CTEs, window functions, JSON, an index,
-- a transaction with a rollback, and an error at the end (exit status 1).
.headers on
.mode list
create table nums(n integer primary key, sq integer, label text);
with recursive c(n) as (select 1 union all select n + 1 from c where n < 2000)
insert into nums select n, n * n, printf('n%04d', n) from c;
create index nums_sq on nums(sq);
select count(*), sum(sq), min(label), max(label) from nums;
select n, sum(n) over (order by n rows between 2 preceding and current row) as w from nums where n <= 5;
select json_group_array(n) from (select n from nums where n % 400 = 0);
select json_extract('{"a": {"b": [10, 20, 30]}}', '$.a.b[1]');
begin; delete from nums where n > 10; rollback;
select count(*) from nums;
vacuum;
pragma integrity_check;
select * from no_such_table;
