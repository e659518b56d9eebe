"""PySpark job: clean raw sales (drop malformed, negative and duplicate orders) and write CSV.

Usage: clean.py INPUT_URI OUTPUT_URI  (gs:// URIs on Dataproc and on the local emulator)
"""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("clean-sales").getOrCreate()
raw = spark.read.option("header", True).csv(source)
clean = (
    # parse only well-formed values: works with and without Spark's ANSI mode (on in Spark 4)
    raw.withColumn("order_date", F.when(F.col("order_date").rlike(r"^\d{4}-\d{2}-\d{2}$"),
                                        F.to_date("order_date", "yyyy-MM-dd")))
    .withColumn("quantity", F.when(F.col("quantity").rlike(r"^-?\d+$"), F.col("quantity").cast("int")))
    .withColumn("amount", F.when(F.col("amount").rlike(r"^-?\d+(\.\d+)?$"), F.col("amount").cast("double")))
    .where(F.col("order_date").isNotNull() & (F.col("quantity") > 0) & (F.col("region") != ""))
    .dropDuplicates(["order_id"])
)
kept, dropped = clean.count(), raw.count() - clean.count()
clean.coalesce(1).write.mode("overwrite").option("header", True).csv(target)
print(f"clean-sales: kept {kept} rows, dropped {dropped}")
spark.stop()
