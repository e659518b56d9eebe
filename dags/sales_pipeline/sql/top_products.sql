-- Spark SQL job: units and revenue per product, best sellers first.
CREATE TEMPORARY VIEW sales
USING csv OPTIONS (path '${clean_uri}', header 'true', inferSchema 'true');

INSERT OVERWRITE DIRECTORY '${output_uri}'
USING csv OPTIONS (header 'true')
SELECT product, sum(quantity) AS units, round(sum(amount), 2) AS revenue
FROM sales GROUP BY product ORDER BY revenue DESC, product;
