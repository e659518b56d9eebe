"""The dag-factory loader file of the corpus dag folder (what Airflow parsed before the migration)."""

from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals())
