-- Second database for Airflow's metadata beside the registry's.
CREATE DATABASE airflow;
