"""A directory put first on Ray's processes' ``PYTHONPATH`` by ``ray_app.serving_on_ray``.

Its one module, ``rfc3987_syntax``, refuses to import. Every Ray process imports
``jsonschema``, which imports ``rfc3987_syntax`` when it is installed (the book's Jupyter
stack brings it) and builds a grammar at import: about 1.5 s of CPU per process, which on a
loaded 2-core machine pushed Ray's dashboard agent past the raylet's fixed 15 s start-up
window. ``jsonschema`` treats the module as optional (one string format less to check), and
Ray does not use that format.
"""
