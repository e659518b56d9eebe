"""The dagspec loader: builds an Airflow DAG from every YAML spec in this dag folder.

Airflow's safe-mode discovery parses this file because it mentions airflow and dag. Broken specs
show up in Airflow's import errors under their own paths; the good ones still load.
"""

from dagspec.dag_factory.airflow.loader import load_dag_folder

load_dag_folder(globals())
