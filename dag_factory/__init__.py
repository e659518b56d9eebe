"""dagspec.dag_factory: YAML specs compiled into Airflow 3 DAGs."""
