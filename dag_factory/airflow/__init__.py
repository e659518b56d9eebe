"""The only layer that builds Airflow objects: plan to DAG, and the dag_folder loader."""
