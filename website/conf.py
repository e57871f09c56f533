"""Sphinx configuration of the course website (`make site`, tools/site.py).

tools/site.py copies this folder into build/site-src/, writes the pages beside it (index.md,
lessons/*.ipynb from a run folder, results.md, teachers.md), MathJax into _static/mathjax/,
and site.json: the course's repository and, for a smoke run, the note every page carries.
"""

import json
from pathlib import Path

info = json.loads((Path(__file__).parent / "site.json").read_text())

project = "Deep learning for vision"
author = "the dl-vision-labs authors"
copyright = "the dl-vision-labs authors"
extensions = ["myst_nb"]
exclude_patterns = ["site.json", "_build"]

# Notebooks: shown as the run executed them, never executed here.
nb_execution_mode = "off"
nb_output_stderr = "remove"  # TensorFlow's log lines are not part of the lesson
nb_ipywidgets_js = {}  # no widget scripts from a CDN
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # a lesson may go from # to ### (Colab shows it so)

# Math: MathJax 3 from the site itself (tools/site.py bundles it), no CDN.
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_context = {"default_mode": "light"}  # the theme logs an error when none is set
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    "repository_url": f"https://github.com/{info['repository']}",
    "repository_branch": info["branch"],
    "use_repository_button": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "announcement": info["announcement"],
}
