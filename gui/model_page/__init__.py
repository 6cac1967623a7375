"""One open model's page: its plain model (model.py), how it is loaded (loading.py), and its
widgets: the view with its tabs (view.py), the delegate controls, the detail panel, the overview."""
