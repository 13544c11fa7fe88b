"""Publishing a model before it is ready.

A service loads its model on a background thread so that it can start answering health
checks at once. The loader raises a ``ready`` flag, and request threads check the flag and
then use the model. If the flag goes up before the model is stored, or before its warm-up
has finished, a request that slips into the gap uses ``None`` or a half-built object. The
same mistake in lazy form: ``if _model is None: _model = load()`` with no lock loads the
model once per thread that checked before the first load finished, and threads end up
holding different objects. And in processes: a server that loads the model and then forks
its workers (gunicorn ``--preload``) hands each worker a copy of a session whose threads
stayed behind in the parent.

The Rust original is about memory ordering: a flag stored with ``Relaxed`` can become
visible before the data it guards, and the fix is ``Release``/``Acquire``. CPython with
the GIL shows Python code no hardware reordering; what bites in Python is the *order of
publication* in the source, and a check-then-act with no lock. The fix is the same shape:
publish once, after the model is complete, through a ``threading.Event``; load lazily under
a ``threading.Lock`` (checked twice), which does not depend on the GIL; and create sessions
after a worker process starts (``spawn``), never before a fork.
"""

CHAPTER = 2
