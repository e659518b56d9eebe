"""dagspec loader: builds an Airflow DAG from every YAML spec of this dag folder.

Airflow's safe-mode discovery parses this file because it names airflow and dag. Broken specs show up in
Airflow's import errors under their own paths; the good ones still load. Written by `dagspec init`;
`dagspec init-dag-folder` replaces it with parse units when the folder grows large.
"""

from dagspec.dag_factory.airflow.loader import load_dag_folder

load_dag_folder(globals())
