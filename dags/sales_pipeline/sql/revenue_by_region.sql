-- Spark SQL job: revenue and orders per region, from the cleaned sales.
CREATE TEMPORARY VIEW sales
USING csv OPTIONS (path '${clean_uri}', header 'true', inferSchema 'true');

INSERT OVERWRITE DIRECTORY '${output_uri}'
USING csv OPTIONS (header 'true')
SELECT region, count(*) AS orders, round(sum(amount), 2) AS revenue
FROM sales GROUP BY region ORDER BY region;
