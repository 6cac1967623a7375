"""The self-contained HTML report: the facts gathered from the other packages (build.py and its
sections), the layer plot as SVG numbers, rendered with jinja2 from resources/report/."""
