"""The pictures: a small web application (run report, news, document pages) and the charts behind it.

data.py      what each page shows: queries of sql/pages/ run in the read-only sandbox of pipeline/views.py,
             cached until the database of views is rebuilt (each commit rebuilds it)
charts.py    Vega-Lite specs (altair), rendered to SVG/PNG on the server by vl-convert
markup.py    a document's text with its entities and quotes marked (displaCy-like HTML)
pages.py     the pages as HTML (jinja2 templates in templates/), one self-contained file for `report`
app.py       the FastAPI app: `news-etl serve`, and mounted in Airflow's api-server (pipeline/airflow_ui.py)
airflow.py   inside Airflow: each request's user checked by Airflow, a DAG run's date and task timings
"""
